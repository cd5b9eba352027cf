/**
 * The hashing rollout shared by flexibleRollout and gradualRolloutUserId/SessionId:
 * hash `"<groupId>:<value>"`, take the 1–100 bucket, on when `bucket <= percentage`.
 */
import { fieldGetter, type FieldGetter } from '../lib/context';
import { hashPrefix, normalizedRollout } from '../lib/hash';
import type { Context } from '../lib/types';
import type { CompiledLogic } from './strategy';

/** Compiles a rollout on one context field: a missing field is off. */
export function fieldRollout(field: string, groupId: string, threshold: number): CompiledLogic {
  const prefix = hashPrefix(groupId);
  const get: FieldGetter = fieldGetter(field);
  if (threshold <= 0) {
    return { test: () => false, rollout: (context) => detail(field, get(context), prefix, threshold) };
  }
  return {
    test: (context: Context) => {
      const value = get(context);
      return value !== undefined && normalizedRollout(prefix, value) <= threshold;
    },
    rollout: (context) => detail(field, get(context), prefix, threshold),
  };
}

function detail(stickiness: string, value: string | undefined, prefix: ReturnType<typeof hashPrefix>, threshold: number) {
  return value === undefined
    ? { stickiness, threshold }
    : { stickiness, value, bucket: normalizedRollout(prefix, value), threshold };
}
