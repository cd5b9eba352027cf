/**
 * The engine-level specs only, for `npm run mutate`: Stryker reruns them for every
 * mutant, so they must stay fast and must not need a build, a network or a server.
 */
import base from './jest.config.js';

export default {
  ...base,
  // The sources must be inside the roots: Stryker runs jest with --findRelatedTests on
  // the mutated file, and jest only follows imports through files under its roots (with
  // `spec` alone, a mutant in strategies/ found no test and "survived").
  roots: ['<rootDir>/spec', '<rootDir>/lib', '<rootDir>/strategies'],
  testMatch: [
    '<rootDir>/spec/lib/constraints.test.ts',
    '<rootDir>/spec/lib/engine.test.ts',
    '<rootDir>/spec/lib/engine-property.test.ts',
    '<rootDir>/spec/lib/hash.test.ts',
    '<rootDir>/spec/lib/explain.test.ts',
    '<rootDir>/spec/strategies/**/*.test.ts',
    '<rootDir>/spec/engine/**/*.test.ts',
    '<rootDir>/spec/client-specification.test.ts',
  ],
};
