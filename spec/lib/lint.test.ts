import { lintPayload } from '../../lib/lint';

const flag = (name: string, extra: Record<string, unknown> = {}) => ({ name, enabled: true, strategies: [{ name: 'default' }], ...extra });

describe('lintPayload', () => {
  test('a clean file has no findings', () => {
    const report = lintPayload({ version: 2, features: [flag('a'), flag('b', { dependencies: [{ feature: 'a' }] })], segments: [] });
    expect(report).toEqual({ errors: [], warnings: [], flags: 2, segments: 0 });
  });

  test('reports unknown strategies and operators, bad regexes, missing segments and cycles', () => {
    const report = lintPayload({
      version: 2,
      segments: [{ id: 1, constraints: [{ contextName: 'x', operator: 'NUM_GT', value: 'ten' }] }],
      features: [
        flag('s', { strategies: [{ name: 'mine' }] }),
        flag('o', { strategies: [{ name: 'default', constraints: [{ contextName: 'x', operator: 'LIKE', values: ['a'] }] }] }),
        flag('r', { strategies: [{ name: 'default', constraints: [{ contextName: 'x', operator: 'REGEX', value: '(?=look)' }] }] }),
        flag('m', { strategies: [{ name: 'default', segments: [1, 42] }] }),
        flag('c1', { dependencies: [{ feature: 'c2' }] }),
        flag('c2', { dependencies: [{ feature: 'c1' }] }),
        flag('p', { dependencies: [{ feature: 'ghost' }] }),
      ],
    });
    const text = report.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    expect(text).toMatch(/strategies\[0\]: unknown strategy "mine"/);
    expect(text).toMatch(/"o"\.strategies\[0\]\.constraints\[0\]: unknown constraint operator "LIKE"/);
    expect(text).toMatch(/"r".*invalid pattern/);
    expect(text).toMatch(/"m"\.strategies\[0\]: segment 42 is not defined/);
    expect(text).toMatch(/segments\[id=1\]\.constraints\[0\]: NUM_GT constraint on "x" has no usable number/);
    expect(text).toMatch(/dependency cycle: c1 -> c2 -> c1/);
    expect(text).toMatch(/depends on "ghost", which is not in the file/);
    expect(report.errors).toHaveLength(7);
  });

  test('custom strategy names given by the user are not errors', () => {
    expect(lintPayload({ features: [flag('s', { strategies: [{ name: 'mine' }] })] }, { strategies: ['mine'] }).errors).toEqual([]);
  });

  test('an unusable file is one error, not a crash', () => {
    expect(lintPayload('{ nope').errors[0]!.message).toMatch(/not valid JSON/);
    expect(lintPayload({ events: [] }).errors[0]!.message).toMatch(/delta body/);
  });

  test('warnings: duplicate names, zero weights, transitive dependencies', () => {
    const report = lintPayload({
      features: [
        flag('a', { variants: [{ name: 'v', weight: 0 }] }),
        flag('a'),
        flag('b', { dependencies: [{ feature: 'c' }] }),
        flag('c', { dependencies: [{ feature: 'a' }] }),
      ],
    });
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((w) => w.message)).toEqual([
      'all variants have weight 0; none can be chosen',
      'duplicate flag name (also features[0]); the last one wins',
      'parent "c" has dependencies of its own; Unleash allows one level, so the flag is always off',
    ]);
  });
});
