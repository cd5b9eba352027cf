/**
 * The differential test, short form: a few seeds of generated flags and contexts (edges
 * included), switchyard (the TypeScript sources) against unleash-client pair by pair.
 * Every difference must be explained by a known-difference rule (rules.mjs).
 * `npm run differential -- --seeds 1-50` runs the long form against dist/, in a time zone
 * far from UTC (jest cannot change the zone of its workers: this short run uses the
 * host's), and also requires every rule to have explained something.
 */
import { generateCase } from './generator.mjs';
import { formatDifference, formatTotals, plantOfficialDefect, runSeeds, unusedRules, type Totals } from './compare.mjs';
import { rules } from './rules.mjs';
import * as client from '../../lib/index';
import * as engine from '../../lib/engine/index';

const switchyard = { ...client, ...engine };
const SEEDS = [1, 2, 3];

const unexplained = (totals: Totals): string =>
  `${totals.unexplained} unexplained difference(s); the first:\n${totals.examples.map(formatDifference).join('\n')}`;

describe('switchyard and unleash-client, pair by pair', () => {
  test('the generator is deterministic', () => {
    const a = generateCase(7, { hostname: 'host' });
    expect(JSON.stringify(generateCase(7, { hostname: 'host' }).body)).toBe(JSON.stringify(a.body));
    expect(generateCase(7, { hostname: 'host' }).queries).toEqual(a.queries);
    expect(JSON.stringify(generateCase(8, { hostname: 'host' }).body)).not.toBe(JSON.stringify(a.body));
  });

  test('rules are named once, with a reason', () => {
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const r of rules) expect(r.reason.length).toBeGreaterThan(40);
  });

  test(`every difference on seeds ${SEEDS.join(', ')} is explained by a rule`, async () => {
    const totals = await runSeeds(switchyard, SEEDS);
    const unused = unusedRules(totals);
    // Short runs only report rules that explained nothing; the long form requires them all.
    console.log(`${formatTotals(totals)}\nrules unused in this short run: ${unused.length === 0 ? 'none' : unused.join(', ')}`);
    if (totals.unexplained > 0) throw new Error(unexplained(totals));
    // Both answers must be exercised, and differences found, or agreeing would prove little.
    expect(totals.pairs).toBeGreaterThan(20_000);
    expect(totals.agreed).toBeGreaterThan(totals.pairs / 2);
    expect(totals.agreed).toBeLessThan(totals.pairs);
  });

  test('the rules do not explain away a defect they do not describe', async () => {
    // The official SDK, made wrong for one plan, in its client and in the client asked again.
    const plan = (context: { properties?: Record<string, unknown> } | undefined): boolean => context?.properties?.plan === 'team';
    const [seed] = SEEDS;
    const before = await runSeeds(switchyard, [seed!], { maxExamples: 0 });
    const restore = plantOfficialDefect(plan);
    let after: Totals;
    try {
      after = await runSeeds(switchyard, [seed!], { maxExamples: 0 });
    } finally {
      restore();
    }
    const newlyDiffering = before.agreed - after.agreed;
    expect(newlyDiffering).toBeGreaterThan(100);
    expect(after.unexplained).toBeGreaterThanOrEqual(0.9 * newlyDiffering);
  });
});
