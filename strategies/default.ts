import type { BuiltinStrategy } from './strategy';

const always = () => true;

/** `default`: on for everyone (constraints and segments still apply). */
export const defaultStrategy: BuiltinStrategy = {
  name: 'default',
  compile: () => ({ test: always }),
};
