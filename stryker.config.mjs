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
  // perTest: each mutant runs only the tests that reached it. Checked on one line of
  // compiled-strategy.ts against mutants applied by hand and against 'all' (every related
  // test for every mutant): the same kills, and the same survivors once the timeout below
  // is long enough ('all' is slower per mutant, so a short timeout hid its survivors).
  // See spec/engine/MUTANTS.md, "Reading a report".
  coverageAnalysis: 'perTest',
  // The pure engine and the built-in strategies; a run can be narrowed with
  // `npm run mutate -- --mutate lib/engine/variants.ts`.
  mutate: ['lib/engine/**/*.ts', '!lib/engine/index.ts', 'strategies/**/*.ts', '!strategies/strategy.ts'],
  concurrency: 2,
  // Off: an incremental run reuses a mutant's old status unless the mutated file or a test
  // that covered it changed; it cannot see changes to the modules it calls (flag.ts, the
  // payload parser) or to spec helpers (spec/engine/build.ts), so a stale "Survived" or
  // "Killed" can outlive the code it was about. Opt in for a quick local loop with
  // `npx stryker run --incremental`; the scores in MUTANTS.md come from full reruns.
  incremental: false,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 90, low: 85, break: null },
  // Every mutant run is a fresh jest run (ESM runtimes, module linking, failure diffs), whose
  // overhead on a busy 2-core machine is several seconds: with 3 s, a third of the mutants
  // of variants.ts were reported "Timeout" (counted as killed, with no failing test to show
  // for it), and each timeout restarts a runner. A mutant that loops inside the engine is
  // still stopped early by Stryker's hit limit (100× the dry run's hit count); one that makes
  // a spec's own search loop forever (e.g. `while (!isEnabled(...)) user++` once every
  // bucket is off) waits the limit out: a few per file, each about a minute.
  timeoutMS: 30000,
  timeoutFactor: 2,
  cleanTempDir: true,
};
