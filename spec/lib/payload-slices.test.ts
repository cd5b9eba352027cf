/**
 * The sliced door gives what the synchronous one gives, for every body: the same
 * ParseResult, or the same PayloadError. And it does yield, as often as told.
 */
import { describe, expect, jest, test } from '@jest/globals';
import fc from 'fast-check';
import { parseClientPayload, PayloadError, readClientPayload, type ParseResult } from '../../lib/payload';
import { isDeferred } from '../../lib/engine/compact';
import { checkedResult } from '../support/checked';
import { ONE_GO_FALLBACK_BYTES, parseClientPayloadInSlices, stringifyInSlices, yieldingControl, type SliceControl } from '../../lib/payload-slices';

/** Yields after every step (the most slices), counting them. */
function everyStep(): SliceControl & { pauses: number } {
  const control = {
    pauses: 0,
    shouldYield: () => true,
    pause: () => {
      control.pauses++;
      return Promise.resolve();
    },
  };
  return control;
}

async function both(text: string | Buffer): Promise<[unknown, unknown]> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const settle = async (run: () => unknown): Promise<unknown> => {
    try {
      return { ok: await run() };
    } catch (err) {
      return { error: err instanceof PayloadError ? [err.code, err.message] : String(err) };
    }
  };
  const sync = await settle(() => readClientPayload(bytes));
  const sliced = await settle(() => parseClientPayloadInSlices(bytes, everyStep()));
  // Both leave the same flags deferred, and checking them gives what the checking door gives.
  const eager = await settle(() => parseClientPayload(bytes));
  expect(checked(sliced)).toEqual(eager);
  expect(checked(sync)).toEqual(eager);
  return [sync, sliced];
}

function checked(settled: unknown): unknown {
  const ok = (settled as { ok?: ParseResult }).ok;
  if (ok === undefined) return settled;
  if (ok.payload.kind === 'full') expect(ok.payload.features.every((f) => isDeferred(f))).toBe(true);
  return { ok: checkedResult(ok) };
}

const feature = (name: string, extra = ''): string =>
  `{"name":"${name}","enabled":true,"strategies":[{"name":"default","parameters":{"a":"b"},"constraints":[]}]${extra}}`;

describe('parseClientPayloadInSlices gives what readClientPayload gives (and, checked, what parseClientPayload gives)', () => {
  test.each([
    ['a full body', `{"version":2,"features":[${feature('a')},${feature('b')}],"segments":[{"id":1,"constraints":[]}]}`],
    ['with space everywhere', ` \n{ "version" : 2 ,\t"features" : [ ${feature('a')} , ${feature('b')} ] , "segments" : [ ] }\r\n `],
    ['a byte-order mark', `\ufeff{"features":[${feature('a')}]}`],
    ['an empty object', '{}'],
    ['empty arrays', '{"features":[],"segments":[]}'],
    ['escaped quotes and backslashes in strings', `{"features":[${feature('q"\\\\"', ',"description":"a\\\\\\"b\\\\\\\\"')}]}`],
    ['brackets inside strings', `{"features":[${feature('[{x}]', ',"description":"}]},{"')}]}`],
    ['non-ASCII text', `{"features":[${feature('ünïcödé-🚩')}]}`],
    ['a repeated features key (the last one counts)', `{"features":[${feature('a')}],"features":[${feature('b')}]}`],
    ['a __proto__ key', `{"__proto__":{"x":1},"features":[${feature('a')}]}`],
    ['features that is not an array', '{"features":{"a":1}}'],
    ['unusable features (warnings)', `{"features":[1,null,"x",${feature('a')},{"name":""}]}`],
    ['a delta body', `{"events":[{"type":"feature-updated","eventId":1,"feature":${feature('a')}},{"type":"segment-removed","eventId":2,"segmentId":3}]}`],
    ['a hydration (its flags split too)', `{"events":[{"type":"hydration","eventId":1,"features":[${feature('a')},${feature('b')}],"segments":[{"id":1,"constraints":[]}]},{"type":"feature-removed","eventId":2,"featureName":"a"}]}`],
    ['a hydration with space everywhere', ` {"events" : [ { "type" : "hydration" , "eventId" : 1 , "features" : [ ${feature('a')} , ${feature('b')} ] , "segments" : [ ] } ] } `],
    ['a hydration with unusable flags (warnings)', `{"events":[{"type":"hydration","eventId":1,"features":[1,null,{"name":""},${feature('a')}],"segments":[{"nope":1}]}]}`],
    ['a hydration whose features is not an array', '{"events":[{"type":"hydration","eventId":1,"features":{"a":1}}]}'],
    ['a hydration with repeated and __proto__ keys', `{"events":[{"type":"hydration","__proto__":{"x":1},"features":[${feature('a')}],"features":[${feature('b')}],"eventId":3}]}`],
    ['an event that is not an object', '{"events":[1,{"type":"hydration","features":[]}]}'],
    ['an empty event', '{"events":[{}]}'],
    ['a truncated hydration', `{"events":[{"type":"hydration","eventId":1,"features":[${feature('a')},`],
    ['a hydration with a missing comma between flags', `{"events":[{"type":"hydration","eventId":1,"features":[${feature('a')} ${feature('b')}]}]}`],
    ['a hydration with a trailing comma in its event', `{"events":[{"type":"hydration","features":[],}]}`],
    ['numbers, literals and nested values elsewhere', `{"version":1,"query":{"project":["a"]},"meta":[1,-2.5e3,true,false,null],"features":[${feature('a')}]}`],
    // Invalid: the synchronous door decides, with its own error.
    ['a missing comma between flags', `{"features":[${feature('a')} ${feature('b')}]}`],
    ['a trailing comma', `{"features":[${feature('a')},]}`],
    ['a leading comma', `{"features":[,${feature('a')}]}`],
    ['text after the object', `{"features":[]} x`],
    ['a truncated body', `{"features":[${feature('a')}`],
    ['an unterminated string', '{"features":[{"name":"a}]}'],
    ['mismatched brackets in a flag', '{"features":[{"name":"a","strategies":[}]]}'],
    ['a bare word', '{"features":[nope]}'],
    ['a key without a colon', '{"features" []}'],
    ['an unquoted key', '{features:[]}'],
    ['a top-level array', '[]'],
    ['a top-level string', '"x"'],
    ['nothing', ''],
    ['only space', '   '],
  ])('%s', async (_name, text) => {
    const [sync, sliced] = await both(text);
    expect(sliced).toEqual(sync);
  });

  test('any JSON value in the arrays, written with any spacing', async () => {
    const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 6 }), fc.array(fc.jsonValue(), { maxLength: 3 }), space, async (features, segments, s) => {
        const text = `{${s}"features"${s}:${s}[${s}${features.map((f) => JSON.stringify(f)).join(`${s},${s}`)}${s}]${s},"segments":${JSON.stringify(segments)}}`;
        const [sync, sliced] = await both(text);
        expect(sliced).toEqual(sync);
      }),
      { numRuns: 200 },
    );
  });

  test('any JSON values in a hydration, written with any spacing', async () => {
    const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 6 }), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.jsonValue(), space, async (features, segments, other, s) => {
        const list = (items: unknown[]) => `[${s}${items.map((v) => JSON.stringify(v)).join(`${s},${s}`)}${s}]`;
        const text = `{"events":[{${s}"type"${s}:${s}"hydration"${s},"features":${list(features)},${s}"segments"${s}:${s}${list(segments)},"extra":${JSON.stringify(other)}},${JSON.stringify(other)}]}`;
        const [sync, sliced] = await both(text);
        expect(sliced).toEqual(sync);
      }),
      { numRuns: 200 },
    );
  });

  test('any text at all: the same result or the same error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', ' ', 'a', '1', 'features') }), async (tail) => {
        const [sync, sliced] = await both(`{"features":[${tail}`);
        expect(sliced).toEqual(sync);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a body over ONE_GO_FALLBACK_BYTES that the split cannot read', () => {
  // Parsing 8 MiB or more whole, only to word the error, would hold the event loop as long
  // as the slices avoid: such a body is refused as it stands, never given to JSON.parse whole.
  const big = (): string => {
    const flags: string[] = [];
    let size = 0;
    for (let i = 0; size <= ONE_GO_FALLBACK_BYTES + 100_000; i++) {
      const f = feature(`flag-${i}`, `,"description":"${'d'.repeat(400)}"`);
      flags.push(f);
      size += f.length + 1;
    }
    return `{"version":2,"features":[${flags.join(',')}]}`;
  };
  const text = big();
  // The same flags as a top-level array (the shape the frontend API's list would have).
  const list = text.slice(text.indexOf('['), text.lastIndexOf(']') + 1);

  async function refusal(input: string): Promise<{ code: string; message: string; longestParse: number }> {
    const parse = JSON.parse;
    let longestParse = 0;
    const spy = jest.spyOn(JSON, 'parse').mockImplementation((t: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      longestParse = Math.max(longestParse, t.length);
      return parse(t, reviver);
    });
    try {
      await parseClientPayloadInSlices(Buffer.from(input), yieldingControl());
      throw new Error('not refused');
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      return { code: err.code, message: err.message, longestParse };
    } finally {
      spy.mockRestore();
    }
  }

  test.each([
    ['truncated (a proxy cut it short)', text.slice(0, -5000), 'PAYLOAD_NOT_JSON', /^payload is not valid JSON \(the \d+ bytes could not be read past byte \d+; not parsed further\)$/],
    ['a missing comma in the middle', text.replace('},{"name":"flag-20",', '} {"name":"flag-20",'), 'PAYLOAD_NOT_JSON', /could not be read past byte \d+/],
    ['a flag that is not JSON', text.replace('"name":"flag-30"', '"name":flag-30'), 'PAYLOAD_NOT_JSON', /could not be read past byte \d+/],
    ['a truncated top-level array', list.slice(0, -5000), 'PAYLOAD_NOT_JSON', /could not be read past byte \d+/],
    ['an HTML page', `<!DOCTYPE html><html><body>${'<p>x</p>'.repeat(1_200_000)}</body></html>`, 'PAYLOAD_NOT_JSON', /could not be read past byte \d+;/],
  ])('%s: refused with PAYLOAD_NOT_JSON of its own, no JSON.parse of the whole', async (_, input, code, message) => {
    expect(Buffer.byteLength(input)).toBeGreaterThan(ONE_GO_FALLBACK_BYTES);
    const refused = await refusal(input);
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
    expect(refused.longestParse).toBeLessThan(64 * 1024);
  });

  test.each([
    // Well-formed JSON of the wrong shape: read in slices all the same, and refused with
    // exactly the one-go door's error.
    ['a top-level array', list, true],
    ['an object without features (the frontend API\'s toggles)', text.replace('"features":', '"toggles":'), true],
    ['segments that are no array', text.replace(/\]\}$/, '],"segments":{"1":{}}}'), true],
    // One value: parsed whole, as the one-go door does (a string parses at memory speed).
    ['a top-level string, after a BOM and space', `\ufeff  ${JSON.stringify(text)}`, false],
  ])('%s: the one-go door\'s error', async (_, input, sliced) => {
    expect(Buffer.byteLength(input)).toBeGreaterThan(ONE_GO_FALLBACK_BYTES);
    const refused = await refusal(input);
    let expected: PayloadError | undefined;
    try {
      readClientPayload(Buffer.from(input));
    } catch (err) {
      expected = err as PayloadError;
    }
    expect([refused.code, refused.message]).toEqual([expected!.code, expected!.message]);
    expect(refused.code).toBe('PAYLOAD_INVALID');
    if (sliced) expect(refused.longestParse).toBeLessThan(64 * 1024);
  });

  test('the same body, well formed, is read in slices', async () => {
    const result = await parseClientPayloadInSlices(Buffer.from(text), yieldingControl());
    expect(result.payload.kind === 'full' && result.payload.features.length).toBeGreaterThan(10_000);
  });
});

describe('slices', () => {
  const body = (n: number): Buffer =>
    Buffer.from(`{"features":[${Array.from({ length: n }, (_, i) => feature(`f${i}`)).join(',')}]}`);

  test('a step is one flag split, parsed and validated (one delta event split and parsed, then validated): every one may end a slice', async () => {
    const control = everyStep();
    await parseClientPayloadInSlices(body(50), control);
    expect(control.pauses).toBe(50);
    const delta = everyStep();
    const events = Array.from({ length: 30 }, (_, i) => `{"type":"feature-updated","eventId":${i},"feature":${feature(`f${i}`)}}`);
    await parseClientPayloadInSlices(Buffer.from(`{"events":[${events.join(',')}]}`), delta);
    expect(delta.pauses).toBe(60);
  });

  test("a hydration's flags and segments are split and parsed one per step, then validated one per step", async () => {
    // A hydration is a whole flag set: one step for it would hold the loop as a full
    // body's one-go parse does (hundreds of milliseconds at 50,000 flags).
    const control = everyStep();
    const flags = Array.from({ length: 40 }, (_, i) => feature(`f${i}`)).join(',');
    const segments = Array.from({ length: 5 }, (_, i) => `{"id":${i},"constraints":[]}`).join(',');
    const result = await parseClientPayloadInSlices(Buffer.from(`{"events":[{"type":"hydration","eventId":1,"features":[${flags}],"segments":[${segments}]}]}`), control);
    // Split: 40 + 5 elements and the event; validated: 40 + 5 elements and the event.
    expect(control.pauses).toBe(2 * (40 + 5 + 1));
    const hydration = result.payload.kind === 'delta' ? result.payload.events[0] : undefined;
    expect(hydration?.type === 'hydration' && hydration.features.every((f) => isDeferred(f))).toBe(true);
  });

  test('yieldingControl ends a slice after maxSteps steps whatever the time, and pauses on a later turn', async () => {
    let pauses = 0;
    let turns = 0;
    let on = true;
    const tick = (): void => {
      if (!on) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await parseClientPayloadInSlices(body(100), yieldingControl(60_000, 10, () => pauses++));
    on = false;
    expect(result.payload.kind === 'full' && result.payload.features.length).toBe(100);
    expect(pauses).toBe(10);
    expect(turns).toBeGreaterThanOrEqual(pauses);
  });
});

describe('stringifyInSlices gives the text JSON.stringify gives', () => {
  const many = (n: number, make: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => make(i));
  test.each([
    ['a small value', { a: 1, b: [1, 2] }],
    ['a large features array', { version: 2, features: many(4500, (i) => ({ name: `f${i}`, on: i % 2 === 0 })), segments: [] }],
    ['values JSON cannot hold, in a large array and beside it', { f: undefined, features: many(2500, (i) => (i % 7 === 0 ? undefined : i % 11 === 0 ? () => 1 : i)), g: () => 2 }],
    ['a large array alone in its object', { features: many(2001, (i) => `s"${i}`) }],
    ['an empty object', {}],
    ['a toJSON', { toJSON: () => ({ x: 1 }), features: many(3000, (i) => i) }],
    ['an array', many(3000, (i) => i)],
    ['a string', 'x'],
    ['undefined', undefined],
  ])('%s', async (_name, value) => {
    const pieces = await stringifyInSlices(value, everyStep());
    expect(pieces === undefined ? undefined : pieces.join('')).toBe(JSON.stringify(value));
  });

  test('a large array is written one element per step, in pieces of at most 1,000 elements', async () => {
    const control = everyStep();
    const pieces = await stringifyInSlices({ features: many(4500, (i) => i) }, control);
    expect(control.pauses).toBe(4500);
    // '{"features":[', five pieces of elements, ']', '}'
    expect(pieces).toHaveLength(8);
  });
});
