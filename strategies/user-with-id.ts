import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { IdList } from '../lib/engine/id-list';

/**
 * `userWithId`: on for the user ids listed in the comma-separated `userIds` parameter,
 * looked up in an index into the parameter text (see `IdList`), not in copies of the ids.
 */
export const userWithIdStrategy: StrategyCompiler = {
  name: 'userWithId',
  compile: ({ parameters }) => new CompiledStrategy(StrategyKind.USER_IDS, 0, '', new IdList(parameters.userIds ?? '')),
};
