/**
 * Mutation testing of the evaluation engine: `npm run mutate` (not part of `npm test`).
 * Runs the engine-level specs only (jest.mutate.config.js), so a run stays bounded;
 * reports go to reports/mutation/, unkilled mutants are reviewed in spec/engine/MUTANTS.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.mutate.config.js' },
  // ts-jest runs the specs as ES modules.
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  coverageAnalysis: 'perTest',
  // The pure engine and the built-in strategies; a run can be narrowed with
  // `npm run mutate -- --mutate lib/engine/variants.ts`.
  mutate: ['lib/engine/**/*.ts', '!lib/engine/index.ts', 'strategies/**/*.ts', '!strategies/strategy.ts'],
  concurrency: 2,
  // Reruns only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 90, low: 85, break: null },
  // A mutant that loops forever costs this much (plus a runner restart): keep it short.
  timeoutMS: 3000,
  cleanTempDir: true,
};
