/**
 * End-to-end suite against a real Unleash server (scripts/unleash-server.sh), kept apart
 * from `npm test`. Same ESM ts-jest setup as jest.config.js. Files run one at a time: one
 * of them stops and restarts the shared server.
 */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec-e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/spec-e2e/global-setup.js',
  globalTeardown: '<rootDir>/spec-e2e/global-teardown.js',
  maxWorkers: 1,
  testTimeout: 60000,
};
