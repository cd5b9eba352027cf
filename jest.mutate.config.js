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
  testMatch: ['<rootDir>/spec/engine/**/*.test.ts', '<rootDir>/spec/strategies/**/*.test.ts', '<rootDir>/spec/client-specification.test.ts'],
  // Needs the built dist/ (a child process): not a unit test of the sources.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/spec/strategies/async-strategy-process.test.ts'],
};
