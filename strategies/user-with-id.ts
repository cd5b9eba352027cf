import { IdList, Rule, RuleKind, type BuiltinStrategy } from './strategy';

/**
 * `userWithId`: on for the user ids listed in the comma-separated `userIds` parameter,
 * looked up in an index into the parameter text (see `IdList`), not in copies of the ids.
 */
export const userWithIdStrategy: BuiltinStrategy = {
  name: 'userWithId',
  compile: ({ parameters }) => new Rule(RuleKind.USER_IDS, 0, '', new IdList(parameters.userIds ?? '')),
};
