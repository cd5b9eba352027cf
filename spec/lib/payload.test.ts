import { SwitchyardError } from '../../lib/errors';
import { parseClientPayload, PayloadError, readClientPayload } from '../../lib/payload';
import { isDeferred } from '../../lib/engine/compact';
import { parseBootstrapBody } from '../../bootstrap/dict';

describe('parseClientPayload', () => {
  test.each([
    ['not JSON', '{"features": [', 'PAYLOAD_NOT_JSON', /not valid JSON/],
    ['a Buffer that is not JSON', Buffer.from('nope'), 'PAYLOAD_NOT_JSON', /not valid JSON/],
    ['an array', '[]', 'PAYLOAD_INVALID', /must be a JSON object, got an array/],
    ['null', null, 'PAYLOAD_INVALID', /must be a JSON object, got null$/],
    ['JSON null', 'null', 'PAYLOAD_INVALID', /must be a JSON object, got null$/],
    ['a JSON number', '42', 'PAYLOAD_INVALID', /must be a JSON object, got a number$/],
    ['a JSON string', '"x"', 'PAYLOAD_INVALID', /must be a JSON object, got a string$/],
    ['a JSON boolean', 'true', 'PAYLOAD_INVALID', /must be a JSON object, got a boolean$/],
    ['no features', { version: 2 }, 'PAYLOAD_INVALID', /no "features" array/],
    ['features not an array', { features: {} }, 'PAYLOAD_INVALID', /no "features" array/],
    ['segments not an array', { features: [], segments: 3 }, 'PAYLOAD_INVALID', /"segments" must be an array/],
    ['a delta event without type', { events: [{}] }, 'PAYLOAD_INVALID', /events\[0\] has no type/],
    ['feature-updated without a feature', { events: [{ type: 'feature-updated' }] }, 'PAYLOAD_INVALID', /has no usable feature/],
  ])('rejects %s with a PayloadError coded %s', (_name, body, code, message) => {
    let caught: unknown;
    try {
      parseClientPayload(body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PayloadError);
    expect(caught).toBeInstanceOf(SwitchyardError);
    expect(caught).toMatchObject({ name: 'PayloadError', code });
    expect((caught as Error).message).toMatch(message);
  });

  test.each([
    ['an unterminated string', (secret: string) => `{"features": "${secret}`],
    ['a bare word', (secret: string) => `{"secret": ${secret}}`],
    ['a bad start', (secret: string) => `${secret} {}`],
  ])('error messages never embed the payload: %s', (_name, make) => {
    const secret = 'SECRETTOKENabc123';
    try {
      parseClientPayload(make(secret));
      throw new Error('expected a PayloadError');
    } catch (err) {
      expect((err as Error).message).not.toContain('SECRET');
    }
  });

  test('accepts text, Buffers and objects, version 1 and 2', () => {
    const body = { version: 1, features: [{ name: 'a', enabled: true, strategies: [{ name: 'default' }] }] };
    for (const input of [body, JSON.stringify(body), Buffer.from(JSON.stringify(body))]) {
      const { payload } = parseClientPayload(input);
      expect(payload.kind).toBe('full');
      if (payload.kind === 'full') {
        expect(payload.version).toBe(1);
        expect(payload.features[0]).toMatchObject({ name: 'a', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [] }] });
      }
    }
  });

  test('is lenient inside a usable body: bad parts are neutralised and reported', () => {
    const { payload, warnings } = parseClientPayload({
      version: 2,
      features: [
        { name: 'ok', enabled: true, strategies: [{ name: 'default', constraints: [{ operator: 'IN' }, 'junk'] }, 42] },
        { enabled: true },
        'not a feature',
      ],
      segments: [{ id: 'x' }, { id: 1, constraints: [] }],
      unknownTopLevelField: true,
    });
    expect(payload.kind).toBe('full');
    if (payload.kind !== 'full') return;
    expect(payload.features.map((f) => f.name)).toEqual(['ok']);
    const [good, bad] = payload.features[0]!.strategies;
    // Malformed constraints keep what could be read and say what was wrong: no placeholder operator.
    expect(good!.constraints).toEqual([
      // The compact form (lib/engine/compact.ts): every constraint has every key.
      { contextName: '', operator: 'IN', values: [], inverted: false, caseInsensitive: false, malformed: 'has no contextName' },
      { contextName: '', operator: '', values: [], inverted: false, caseInsensitive: false, malformed: 'is not an object' },
    ]);
    expect(bad!.name).toBe('');
    expect(payload.segments.map((s) => s.id)).toEqual([1]);
    expect(warnings).toHaveLength(3);
  });

  test('reads numbers and booleans in parameters as text, and drops other values', () => {
    const { payload } = parseClientPayload({ features: [{ name: 'a', strategies: [{ name: 'flexibleRollout', parameters: { rollout: 50, x: true, y: null, z: {} } }] }] });
    if (payload.kind !== 'full') throw new Error('full expected');
    expect(payload.features[0]!.strategies[0]!.parameters).toEqual({ rollout: '50', x: 'true' });
  });

  test('parses delta events and skips unknown event types with a warning', () => {
    const { payload, warnings } = parseClientPayload({
      events: [
        { type: 'hydration', eventId: 1, features: [{ name: 'a' }], segments: [] },
        { type: 'feature-removed', eventId: 2, featureName: 'a', project: 'default' },
        { type: 'segment-removed', eventId: 3, segmentId: 4 },
        { type: 'something-new', eventId: 5 },
      ],
    });
    expect(payload.kind).toBe('delta');
    if (payload.kind !== 'delta') return;
    expect(payload.events.map((e) => e.type)).toEqual(['hydration', 'feature-removed', 'segment-removed']);
    expect(warnings[0]).toMatch(/unknown type "something-new"/);
  });
});

describe('a body this door produced, read back from a cache', () => {
  const text = '{"version":2,"features":[{"name":"a","enabled":true,"strategies":[{"name":"default"}]},{"name":""}],"segments":[]}';

  test('is taken as it is (bootstrap, then start: one validation, not two)', () => {
    const { payload } = parseBootstrapBody(text);
    const again = readClientPayload(payload);
    expect(again.payload.kind === 'full' && again.payload.features).toBe(payload.features);
    expect(again.warnings).toEqual([]);
  });

  test('its deferred flags come out of the public door checked, as from the text', () => {
    const { payload } = parseBootstrapBody(text);
    expect(payload.features.every((f) => isDeferred(f))).toBe(true);
    const again = parseClientPayload(payload);
    const fromText = parseClientPayload(text);
    expect(again.payload.kind === 'full' && again.payload.features.some((f) => isDeferred(f))).toBe(false);
    expect(again.payload).toStrictEqual(fromText.payload);
  });

  test('an equal object the door did not produce is validated (a copy, warnings included)', () => {
    const body = JSON.parse(text) as { features: unknown[] };
    const parsed = parseClientPayload(body);
    expect(parsed.payload.kind === 'full' && parsed.payload.features).not.toBe(body.features);
    expect(parsed.warnings).toEqual(['features[1] was ignored: it has no usable name or id']);
  });

  test('a newer version still says so', () => {
    const { payload } = parseBootstrapBody('{"version":3,"features":[]}');
    expect(parseClientPayload(payload).warnings).toEqual(['payload version 3 is newer than this client knows; reading it as version 2']);
  });
});
