import { hashPrefix, normalizedRollout } from '../lib/hash';
import type { Context } from '../lib/types';
import { fieldRollout } from './rollout';
import { groupIdOf, percentage, randomBucket, type BuiltinStrategy, type CompiledLogic } from './strategy';

/**
 * `flexibleRollout`: a `rollout` percentage with `stickiness` (default, userId, sessionId,
 * random, or any context field) in `groupId` (default: the flag name).
 */
export const flexibleRolloutStrategy: BuiltinStrategy = {
  name: 'flexibleRollout',
  compile: ({ parameters, flagName, env }): CompiledLogic => {
    const threshold = percentage(parameters.rollout);
    const groupId = groupIdOf(parameters, flagName);
    const stickiness = parameters.stickiness === undefined || parameters.stickiness === '' ? 'default' : parameters.stickiness;
    if (stickiness === 'random') {
      return {
        test: () => threshold > 0 && randomBucket(env) <= threshold,
        rollout: () => ({ stickiness, bucket: randomBucket(env), threshold }),
      };
    }
    if (stickiness !== 'default') return fieldRollout(stickiness, groupId, threshold);

    // default stickiness: userId, then sessionId, then a random bucket.
    const prefix = hashPrefix(groupId);
    const pick = (context: Context): [string, string | undefined] => {
      const { userId, sessionId } = context;
      if (typeof userId === 'string' && userId !== '') return ['userId', userId];
      if (typeof sessionId === 'string' && sessionId !== '') return ['sessionId', sessionId];
      return ['random', undefined];
    };
    return {
      test: (context) => {
        if (threshold <= 0) return false;
        const { userId, sessionId } = context;
        if (typeof userId === 'string' && userId !== '') return normalizedRollout(prefix, userId) <= threshold;
        if (typeof sessionId === 'string' && sessionId !== '') return normalizedRollout(prefix, sessionId) <= threshold;
        return randomBucket(env) <= threshold;
      },
      rollout: (context) => {
        const [used, value] = pick(context);
        return value === undefined
          ? { stickiness: `default→${used}`, bucket: randomBucket(env), threshold }
          : { stickiness: `default→${used}`, value, bucket: normalizedRollout(prefix, value), threshold };
      },
    };
  },
};
