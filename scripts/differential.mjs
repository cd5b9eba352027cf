/**
 * The differential test, long form: switchyard (the built package, dist/) against the
 * official Node SDK (unleash-client) on generated flags and contexts, pair by pair.
 *
 *   npm run differential -- --seeds 1-50 [--flags 40] [--contexts 100] [--examples 5] [--tz Pacific/Chatham]
 *
 * `--seeds` takes a range (1-50), a list (3,7,9) or one seed. Prints the pairs compared,
 * agreed, explained per rule (spec/differential/rules.mjs) and unexplained, and the first
 * unexplained differences, shrunk, with everything needed to reproduce them.
 *
 * Runs in a time zone far from UTC (`--tz`; a quarter-hour offset), so that a date read
 * in local time shows. Exits 1 on any unexplained difference, and, on runs of 50 seeds or
 * more, when a rule explained nothing (a rule nothing needs any more should be deleted).
 */
import { parseArgs } from 'node:util';

const LONG_RUN = 50;

function seedsOf(text) {
  const seeds = [];
  for (const part of text.split(',')) {
    const [from, to = from] = part.split('-').map((n) => Number(n.trim()));
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`--seeds: cannot read "${part}" (use 1-50, 3,7,9 or 4)`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  return seeds;
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1-50' },
    flags: { type: 'string', default: '40' },
    contexts: { type: 'string', default: '100' },
    examples: { type: 'string', default: '5' },
    tz: { type: 'string', default: 'Pacific/Chatham' },
  },
});
// Before any date is read: Node applies a change of TZ at once.
process.env.TZ = values.tz;

const seeds = seedsOf(values.seeds);
const { formatDifference, formatTotals, runSeeds, unusedRules } = await import('../spec/differential/compare.mjs');
const switchyard = { ...(await import('../dist/index.js')), ...(await import('../dist/engine.js')) };
const { createRequire } = await import('node:module');
const official = createRequire(import.meta.url)('unleash-client/package.json').version;

console.log(`switchyard (dist/) against unleash-client ${official}: seeds ${values.seeds}, ${values.flags} flags × ${values.contexts} contexts each, TZ=${values.tz}`);
const started = performance.now();
const totals = await runSeeds(switchyard, seeds, {
  flags: Number(values.flags),
  contexts: Number(values.contexts),
  maxExamples: Number(values.examples),
  onSeed: (seed, one) => {
    if (process.stderr.isTTY) process.stderr.write(`seed ${seed}: ${one.pairs} pairs, ${one.unexplained} unexplained\x1b[K\r`);
  },
});
console.log(formatTotals(totals));
console.log(`time: ${((performance.now() - started) / 1000).toFixed(1)} s`);

const unused = unusedRules(totals);
if (unused.length > 0) console.log(`rules that explained nothing: ${unused.join(', ')}`);
for (const example of totals.examples) console.log(`\n${formatDifference(example)}`);

let failed = totals.unexplained > 0;
if (unused.length > 0 && seeds.length >= LONG_RUN) {
  console.log(`\na run of ${seeds.length} seeds must use every rule: delete the unused ones, or make the generator reach them`);
  failed = true;
}
process.exitCode = failed ? 1 : 0;
