import { BootstrapError, parseBootstrapBody } from '../../bootstrap/dict';
import { isDeferred } from '../../lib/engine/compact';
import { checkedFeatures } from '../support/checked';
import { SwitchyardError } from '../../lib/errors';
import { PayloadError } from '../../lib/payload';

const body = {
  version: 2,
  features: [{ name: 'search.v2', enabled: true, strategies: [{ name: 'default', parameters: {} }] }],
  segments: [{ id: 7, name: 'beta', constraints: [] }],
};

function caught(fn: () => unknown): BootstrapError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BootstrapError);
    expect(err).toBeInstanceOf(SwitchyardError);
    return err as BootstrapError;
  }
  throw new Error('expected a BootstrapError');
}

describe('parseBootstrapBody', () => {
  test.each([
    ['an object', body],
    ['JSON text', JSON.stringify(body)],
    ['a Buffer', Buffer.from(JSON.stringify(body))],
  ])('accepts %s and returns the full body, its flags deferred and checking to the normalised definitions', (_, input) => {
    const { payload, warnings } = parseBootstrapBody(input);
    expect(warnings).toEqual([]);
    expect(payload).not.toHaveProperty('kind');
    expect(payload.version).toBe(2);
    expect(payload.segments).toEqual([{ id: 7, name: 'beta', constraints: [] }]);
    expect(payload.features.every((f) => isDeferred(f))).toBe(true);
    expect(checkedFeatures(payload.features)[0]).toMatchObject({ name: 'search.v2', enabled: true, variants: [], dependencies: [] });
  });

  test('passes on the parser warnings for parts it ignored', () => {
    const { payload, warnings } = parseBootstrapBody({ features: [{ enabled: true }, { name: 'ok' }] });
    expect(payload.features.map((f) => f.name)).toEqual(['ok']);
    expect(warnings).toHaveLength(1);
  });

  test('text that is not JSON is PAYLOAD_NOT_JSON, and the message does not quote it', () => {
    const err = caught(() => parseBootstrapBody('{"features": [SECRET-CUSTOMER-42', 'flags.json'));
    expect(err.code).toBe('PAYLOAD_NOT_JSON');
    expect(err.location).toBe('flags.json');
    expect(err.message).toMatch(/^bootstrap from flags\.json failed: payload is not valid JSON/);
    expect(err.message).not.toContain('SECRET');
    expect(err.cause).toBeInstanceOf(PayloadError);
  });

  test.each([
    ['an empty string', ''],
    ['a bare word', 'features'],
    ['a Buffer of garbage', Buffer.from([0xde, 0xad])],
  ])('%s is PAYLOAD_NOT_JSON', (_, input) => {
    expect(caught(() => parseBootstrapBody(input)).code).toBe('PAYLOAD_NOT_JSON');
  });

  test.each([
    ['an array', [1, 2]],
    ['JSON text of a string', '"text"'],
    ['JSON text of an array', '[]'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a boolean', true],
    ['a function', () => ({ features: [] })],
    ['an object without features', { toggles: [] }],
    ['features that is not an array', { features: {} }],
    ['segments that is not an array', { features: [], segments: 'all' }],
  ])('%s is PAYLOAD_INVALID', (_, input) => {
    const err = caught(() => parseBootstrapBody(input));
    expect(err.code).toBe('PAYLOAD_INVALID');
    expect(err.location).toBe('dict');
    expect(err.message).toMatch(/^bootstrap from dict failed: /);
  });

  test('a delta body that starts with a hydration is applied to no flags, later events included', () => {
    const f = (name: string, enabled = true) => ({ name, enabled, strategies: [] });
    const { payload } = parseBootstrapBody({
      events: [
        { type: 'hydration', eventId: 1, features: [f('a'), f('b')], segments: [{ id: 1, constraints: [] }] },
        { type: 'feature-updated', eventId: 2, feature: f('a', false) },
        { type: 'feature-removed', eventId: 3, featureName: 'b' },
        { type: 'feature-updated', eventId: 4, feature: f('c') },
      ],
    });
    expect(payload.features.map((x) => [x.name, x.enabled])).toEqual([['a', false], ['c', true]]);
    expect(payload.segments.map((x) => x.id)).toEqual([1]);
  });

  test('a delta body with no events is refused: it holds no flags', () => {
    const err = caught(() => parseBootstrapBody({ events: [] }));
    expect(err.code).toBe('PAYLOAD_INVALID');
    expect(err.message).toMatch(/no events/);
  });

  test('a delta body without a hydration serves only the flags it names, and says so', () => {
    const { payload, warnings } = parseBootstrapBody({ events: [{ type: 'feature-updated', eventId: 1, feature: { name: 'a', enabled: true, strategies: [] } }] });
    expect(payload.features.map((x) => x.name)).toEqual(['a']);
    expect(warnings).toEqual([expect.stringMatching(/does not start with a hydration/)]);
  });
});

describe('BootstrapError', () => {
  test('is a SwitchyardError with its own name, source, status and cause', () => {
    const cause = new Error('503');
    const err = new BootstrapError('HTTP_STATUS', 'https://cdn.example.com/flags.json', 'the server answered HTTP 503', { status: 503, cause });
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ name: 'BootstrapError', code: 'HTTP_STATUS', status: 503, location: 'https://cdn.example.com/flags.json' });
    expect(err.message).toBe('bootstrap from https://cdn.example.com/flags.json failed: the server answered HTTP 503');
    expect(err.cause).toBe(cause);
    expect('cause' in new BootstrapError('FILE_NOT_FOUND', 'x.json', 'the file does not exist')).toBe(false);
  });
});
