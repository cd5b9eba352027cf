/**
 * The benchmark's correctness half, small: on the generated flags and contexts,
 * switchyard (the client, from the TypeScript sources) and the official SDK must give the
 * same answer to every isEnabled and getVariant. Nothing here is timed.
 */
import { generateContexts, generateFlags } from '../../bench/generator.mjs';
import { answersFor, digestAnswers, digestOf } from '../../bench/measure.mjs';
import { loadOfficial, loadSwitchyard, type LoadedSystem } from '../../bench/systems.mjs';
import * as switchyard from '../../lib/index';

const FLAGS = 50;
const CONTEXTS = 200;

describe('benchmark answers', () => {
  const body = generateFlags(FLAGS);
  const text = JSON.stringify(body);
  const names = body.features.map((f) => f.name);
  const contexts = generateContexts(CONTEXTS);
  let ours: LoadedSystem;
  let theirs: LoadedSystem;

  beforeAll(async () => {
    ours = await loadSwitchyard(switchyard, text, { source: 'bootstrap' });
    theirs = await loadOfficial(text, { source: 'bootstrap' });
  });

  afterAll(async () => {
    await ours?.destroy();
    await theirs?.destroy();
  });

  test('the generator is deterministic', () => {
    expect(JSON.stringify(generateFlags(FLAGS))).toBe(text);
    expect(generateContexts(CONTEXTS)).toEqual(contexts);
    expect(JSON.stringify(generateFlags(FLAGS, 1))).not.toBe(text);
  });

  test('switchyard is measured through its client', () => {
    expect(ours.mode).toMatch(/^UnleashClient/);
  });

  test('switchyard and unleash-client agree on every (flag, context) pair', () => {
    const a = digestAnswers(ours.target, names, contexts);
    const b = digestAnswers(theirs.target, names, contexts);
    // Name the first disagreement, not just the digests, when there is one.
    const differing = names.filter((_, i) => a.perFlag[i]![0] !== b.perFlag[i]![0] || a.perFlag[i]![1] !== b.perFlag[i]![1]);
    if (differing.length > 0) {
      const flag = differing[0]!;
      const mine = answersFor(ours.target, flag, contexts);
      const official = answersFor(theirs.target, flag, contexts);
      const at = mine.findIndex((answer, i) => answer !== official[i]);
      expect({ flag, context: contexts[at], answer: mine[at] }).toEqual({ flag, context: contexts[at], answer: official[at] });
    }
    expect(digestOf(a.perFlag)).toBe(digestOf(b.perFlag));
    expect(a.pairs).toBe(FLAGS * CONTEXTS);
    // The data must exercise both answers and variants, or agreeing would prove little.
    expect(a.enabledCount).toBeGreaterThan(a.pairs / 10);
    expect(a.enabledCount).toBeLessThan(a.pairs);
    expect(a.variantCount).toBeGreaterThan(0);
  });

  test('the digest tells answers apart', () => {
    const flipped = {
      isEnabled: (n: string, c: switchyard.Context) => !ours.target.isEnabled(n, c),
      getVariant: (n: string, c: switchyard.Context) => ours.target.getVariant(n, c),
    };
    expect(digestOf(digestAnswers(flipped, names.slice(0, 5), contexts).perFlag)).not.toBe(digestOf(digestAnswers(ours.target, names.slice(0, 5), contexts).perFlag));
  });
});
