import { BootstrapError, parseBootstrapBody } from '../../bootstrap/dict';

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
    return err as BootstrapError;
  }
  throw new Error('expected a BootstrapError');
}

describe('parseBootstrapBody', () => {
  test.each([
    ['an object', body],
    ['JSON text', JSON.stringify(body)],
    ['a Buffer', Buffer.from(JSON.stringify(body))],
  ])('accepts %s and returns the normalised full body', (_, input) => {
    const { payload, warnings } = parseBootstrapBody(input);
    expect(warnings).toEqual([]);
    expect(payload).not.toHaveProperty('kind');
    expect(payload.version).toBe(2);
    expect(payload.segments).toEqual([{ id: 7, name: 'beta', constraints: [] }]);
    expect(payload.features[0]).toMatchObject({ name: 'search.v2', enabled: true, variants: [], dependencies: [] });
  });

  test('passes on the parser warnings for parts it ignored', () => {
    const { payload, warnings } = parseBootstrapBody({ features: [{ enabled: true }, { name: 'ok' }] });
    expect(payload.features.map((f) => f.name)).toEqual(['ok']);
    expect(warnings).toHaveLength(1);
  });

  test('text that is not JSON is invalid-json, and the message does not quote it', () => {
    const err = caught(() => parseBootstrapBody('{"features": [SECRET-CUSTOMER-42', 'flags.json'));
    expect(err.code).toBe('invalid-json');
    expect(err.source).toBe('flags.json');
    expect(err.message).toMatch(/^bootstrap from flags\.json failed: the body is not valid JSON/);
    expect(err.message).not.toContain('SECRET');
  });

  test.each([
    ['an array', [1, 2]],
    ['a string', '"text"'],
    ['null', null],
    ['an object without features', { toggles: [] }],
    ['features that is not an array', { features: {} }],
  ])('%s is invalid-payload', (_, input) => {
    const err = caught(() => parseBootstrapBody(input));
    expect(err.code).toBe('invalid-payload');
    expect(err.source).toBe('dict');
  });

  test('a delta body is refused: a bootstrap must be complete', () => {
    const err = caught(() => parseBootstrapBody({ events: [{ type: 'hydration', eventId: 1, features: [] }] }));
    expect(err.code).toBe('invalid-payload');
    expect(err.message).toMatch(/not a delta/);
  });
});
