import { listParameter, type BuiltinStrategy } from './strategy';

/** `userWithId`: on for the user ids listed in the comma-separated `userIds` parameter. */
export const userWithIdStrategy: BuiltinStrategy = {
  name: 'userWithId',
  compile: ({ parameters }) => {
    const ids = new Set(listParameter(parameters.userIds));
    return {
      test: (context) => {
        const id = context.userId;
        return typeof id === 'string' && ids.has(id);
      },
    };
  },
};
