import { percentage, randomBucket, type BuiltinStrategy } from './strategy';

/** `gradualRolloutRandom`: on for a random `percentage` of evaluations (not sticky). */
export const gradualRolloutRandomStrategy: BuiltinStrategy = {
  name: 'gradualRolloutRandom',
  compile: ({ parameters, env }) => {
    const threshold = percentage(parameters.percentage);
    return {
      test: () => threshold > 0 && randomBucket(env) <= threshold,
      rollout: () => ({ stickiness: 'random', bucket: randomBucket(env), threshold }),
    };
  },
};
