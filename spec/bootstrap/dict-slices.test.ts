/**
 * `parseBootstrapBodyInSlices` (what `bootstrapFromDict` uses): for large JSON text or
 * bytes, the same result or the same `BootstrapError` as `parseBootstrapBody`, parsed in
 * slices that let the event loop run.
 */
import { BootstrapError, parseBootstrapBody, parseBootstrapBodyInSlices as inSlices } from '../../bootstrap/dict';
import { FIRST_LOAD_PARSE_BYTES } from '../../lib/payload-slices';

/** The split from 1 MiB (the poller's bound), so a 1 MB body tests it. */
const SLICED_FROM = 1024 * 1024;
const parseBootstrapBodyInSlices = (body: unknown) => inSlices(body, 'dict', SLICED_FROM);
import { CacheKeys } from '../../cache/base-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { checkedFeatures, checkedResult } from '../support/checked';
import type { FeatureDefinition } from '../../lib/types';

/** A body well above the size from which the split is used, with parts the parser ignores. */
function largeBody(flags = 5000): Record<string, unknown> {
  const features: unknown[] = [];
  for (let i = 0; i < flags; i++) {
    features.push({
      name: `flag-${i}`,
      enabled: i % 3 !== 0,
      description: i % 7 === 0 ? null : `the flag number ${i}`,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: i % 101, stickiness: 'default', groupId: `flag-${i}` },
          constraints: i % 5 === 0 ? [{ contextName: 'country', operator: 'IN', values: ['NO', 'SE', 47], caseInsensitive: true }, 'junk'] : [],
          segments: i % 11 === 0 ? [1, '2'] : undefined,
          variants: i % 4 === 0 ? [{ name: 'a', weight: 500, payload: { type: 'string', value: 'x' } }, { name: 'b', weight: '500' }] : [],
        },
      ],
      dependencies: i % 13 === 0 ? [{ feature: 'flag-0', variants: [] }] : undefined,
    });
  }
  features.push({ enabled: true }, 'not a flag');
  return { version: 3, features, segments: [{ id: 1, name: 'one', constraints: [] }, { name: 'no id' }], query: { project: ['default'] } };
}

async function rejection(promise: Promise<unknown>): Promise<BootstrapError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(BootstrapError);
    return err as BootstrapError;
  }
  throw new Error('expected a BootstrapError');
}

function syncError(fn: () => unknown): BootstrapError {
  try {
    fn();
  } catch (err) {
    return err as BootstrapError;
  }
  throw new Error('expected a BootstrapError');
}

describe('parseBootstrapBodyInSlices', () => {
  const body = largeBody();
  const text = JSON.stringify(body);
  const expected = checkedResult(parseBootstrapBody(body));

  test('the body is above the size from which the split is used', () => {
    expect(text.length).toBeGreaterThan(1024 * 1024);
  });

  test.each([
    ['JSON text', text],
    ['JSON text with a byte-order mark', `\uFEFF${text}`],
    ['bytes', Buffer.from(text)],
    ['a Uint8Array', new Uint8Array(Buffer.from(text))],
    ['an object', body],
  ])('%s: the same body and warnings as parseBootstrapBody', async (_, input) => {
    expect(checkedResult(await parseBootstrapBodyInSlices(input))).toStrictEqual(expected);
  });

  test('below the bootstrap bound (8 MiB) the same text is parsed in one go: nothing else runs before it resolves', async () => {
    expect(text.length).toBeLessThan(FIRST_LOAD_PARSE_BYTES);
    let ran = false;
    setImmediate(() => (ran = true));
    await inSlices(text);
    expect(ran).toBe(false);
  });

  test('large text is parsed in slices: the event loop runs before it resolves', async () => {
    let ran = false;
    // Queued before the parse starts: it runs at the parse's first pause, if there is one.
    setImmediate(() => (ran = true));
    await parseBootstrapBodyInSlices(text);
    expect(ran).toBe(true);
  });

  test('text with a lone surrogate keeps it, as the synchronous parse does', async () => {
    const odd = text.replace('"flag-1"', '"flag-\uD800"');
    const result = await parseBootstrapBodyInSlices(odd);
    expect(checkedResult(result)).toStrictEqual(checkedResult(parseBootstrapBody(odd)));
    expect(result.payload.features.some((f) => f.name === 'flag-\uD800')).toBe(true);
  });

  test.each([
    ['truncated JSON', text.slice(0, -10)],
    ['a features member that is not an array', `{"segments":[],"features":${JSON.stringify('x'.repeat(1_100_000))}}`],
    ['a delta with no events', `{"events":[],"pad":${JSON.stringify('x'.repeat(1_100_000))}}`],
  ])('%s: the same BootstrapError as parseBootstrapBody', async (_, input) => {
    const err = await rejection(parseBootstrapBodyInSlices(input));
    const sync = syncError(() => parseBootstrapBody(input));
    expect(err.code).toBe(sync.code);
    expect(err.message).toBe(sync.message);
  });

  test('a large delta body becomes the same full body', async () => {
    const delta = {
      events: [
        { type: 'hydration', eventId: 1, features: (body.features as unknown[]).slice(0, 4000), segments: body.segments },
        { type: 'feature-removed', eventId: 2, featureName: 'flag-3' },
      ],
    };
    const deltaText = JSON.stringify(delta);
    expect(deltaText.length).toBeGreaterThan(1024 * 1024);
    // The hydration's flags are left deferred, as parsed: compared once checked.
    expect(checkedResult(await parseBootstrapBodyInSlices(deltaText))).toStrictEqual(checkedResult(parseBootstrapBody(delta)));
    expect(parseBootstrapBody(delta).payload.features).toHaveLength(3999);
  });

  test('bootstrapFromDict stores what the object gives', async () => {
    const fromText = new MemoryCache();
    const fromObject = new MemoryCache();
    await fromText.bootstrapFromDict(text);
    await fromObject.bootstrapFromDict(body);
    const stored = async (cache: MemoryCache) => checkedFeatures(((await cache.get(CacheKeys.FEATURES)) as { features: FeatureDefinition[] }).features);
    expect(await stored(fromText)).toStrictEqual(await stored(fromObject));
  });
});
