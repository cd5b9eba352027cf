import { compileConstraint, constraintHolds, type EvalEnv } from '../../lib/engine/constraints';
import type { ConstraintDefinition, Context } from '../../lib/types';

const NOW = Date.parse('2026-06-15T12:00:00Z');
const warnings: string[] = [];
const env: EvalEnv = { now: () => NOW, random: () => 0.5, hostname: 'host', defaults: { appName: 'the-app', environment: 'production' }, warn: (_key, message) => warnings.push(message) };

function check(def: Partial<ConstraintDefinition>, context: Context): boolean {
  return constraintHolds(compileConstraint({ contextName: 'userId', operator: 'IN', values: [], ...def } as ConstraintDefinition, env), context, env);
}

describe('constraint operators', () => {
  test.each<[string, Partial<ConstraintDefinition>, Context, boolean]>([
    ['IN matches a listed value', { operator: 'IN', values: ['a', 'b'] }, { userId: 'b' }, true],
    ['IN misses an unlisted value', { operator: 'IN', values: ['a'] }, { userId: 'c' }, false],
    ['IN is false when the field is missing', { operator: 'IN', values: ['a'] }, {}, false],
    ['IN reads properties', { contextName: 'country', operator: 'IN', values: ['NO'] }, { properties: { country: 'NO' } }, true],
    ['top-level fields win over properties', { contextName: 'userId', operator: 'IN', values: ['top'] }, { userId: 'top', properties: { userId: 'prop' } }, true],
    ['IN on a numeric property compares its text', { contextName: 'n', operator: 'IN', values: ['7'] }, { properties: { n: 7 } }, true],
    ['NOT_IN is true for an unlisted value', { operator: 'NOT_IN', values: ['a'] }, { userId: 'c' }, true],
    ['NOT_IN is true when the field is missing', { operator: 'NOT_IN', values: ['a'] }, {}, true],
    ['NOT_IN is false for a listed value', { operator: 'NOT_IN', values: ['a'] }, { userId: 'a' }, false],
    ['inverted IN', { operator: 'IN', values: ['a'], inverted: true }, { userId: 'a' }, false],
    ['STR_CONTAINS', { operator: 'STR_CONTAINS', values: ['xx', 'ell'] }, { userId: 'hello' }, true],
    ['STR_CONTAINS is case-sensitive by default', { operator: 'STR_CONTAINS', values: ['ELL'] }, { userId: 'hello' }, false],
    ['STR_CONTAINS caseInsensitive', { operator: 'STR_CONTAINS', values: ['ELL'], caseInsensitive: true }, { userId: 'hEllo' }, true],
    ['STR_STARTS_WITH', { operator: 'STR_STARTS_WITH', values: ['he'] }, { userId: 'hello' }, true],
    ['STR_STARTS_WITH miss', { operator: 'STR_STARTS_WITH', values: ['lo'] }, { userId: 'hello' }, false],
    ['STR_ENDS_WITH caseInsensitive', { operator: 'STR_ENDS_WITH', values: ['LO'], caseInsensitive: true }, { userId: 'hello' }, true],
    ['STR_* on a missing field is false', { operator: 'STR_ENDS_WITH', values: ['x'] }, {}, false],
    ['inverted STR_CONTAINS', { operator: 'STR_CONTAINS', values: ['ell'], inverted: true }, { userId: 'hello' }, false],
    ['NUM_EQ', { contextName: 'n', operator: 'NUM_EQ', value: '3' }, { properties: { n: '3.0' } }, true],
    ['NUM_GT', { contextName: 'n', operator: 'NUM_GT', value: '3' }, { properties: { n: '3.5' } }, true],
    ['NUM_GTE equal', { contextName: 'n', operator: 'NUM_GTE', value: '3' }, { properties: { n: '3' } }, true],
    ['NUM_LT', { contextName: 'n', operator: 'NUM_LT', value: '3' }, { properties: { n: '-1' } }, true],
    ['NUM_LTE miss', { contextName: 'n', operator: 'NUM_LTE', value: '3' }, { properties: { n: '4' } }, false],
    ['NUM_* with a non-number context value is false', { contextName: 'n', operator: 'NUM_GT', value: '3' }, { properties: { n: 'abc' } }, false],
    ['NUM_* with an unusable constraint value is false', { contextName: 'n', operator: 'NUM_GT', value: 'x' }, { properties: { n: '4' } }, false],
    ['DATE_AFTER uses now by default', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00Z' }, {}, true],
    ['DATE_BEFORE uses now by default', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-01-01T00:00:00Z' }, {}, false],
    // Dates without an offset are UTC, in constraint values and in currentTime, whatever the host's zone.
    ['a zone-less DATE_AFTER value is UTC', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T00:00:00' }, { currentTime: '2026-02-28T23:59:59Z' }, false],
    ['a zone-less DATE_AFTER value is UTC (after)', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T00:00:00' }, { currentTime: '2026-03-01T00:00:01Z' }, true],
    ['a date-only value is UTC midnight', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-03-01' }, { currentTime: '2026-02-28T23:59:59.999Z' }, true],
    ['a date-only value is UTC midnight (after)', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-03-01' }, { currentTime: '2026-03-01T00:00:00.001Z' }, false],
    ['a zone-less currentTime is UTC', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T10:00:00Z' }, { currentTime: '2026-03-01T10:00:01' }, true],
    ['a zone-less currentTime is UTC (before)', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T10:00:00Z' }, { currentTime: '2026-03-01T09:59:59' }, false],
    ['a zone-less currentTime with a space separator is UTC', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-03-01T10:00:00Z' }, { currentTime: '2026-03-01 09:59' }, true],
    ['a local time that a DST gap skips is still UTC', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-08T02:30:00' }, { currentTime: '2026-03-08T02:30:01Z' }, true],
    ['an explicit offset is honoured', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T05:45:00+05:45' }, { currentTime: '2026-03-01T00:00:01Z' }, true],
    ['an explicit offset is honoured (before)', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T05:45:00+05:45' }, { currentTime: '2026-02-28T23:59:59Z' }, false],
    ['a named zone outside ISO is read by Date.parse', { contextName: 'currentTime', operator: 'DATE_AFTER', value: 'Sun, 01 Mar 2026 00:00:00 GMT' }, { currentTime: '2026-03-01T00:00:01Z' }, true],
    ['a non-ISO date with no zone is unusable (it would depend on the host)', { contextName: 'currentTime', operator: 'DATE_AFTER', value: 'March 1, 2026' }, { currentTime: '2027-01-01T00:00:00Z' }, false],
    ['an impossible ISO date is unusable, not rolled over', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-02-30T00:00:00Z' }, { currentTime: '2026-01-01T00:00:00Z' }, false],
    ['an impossible ISO currentTime is unusable, not rolled over', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00Z' }, { currentTime: '2026-02-30T00:00:00Z' }, false],
    ['currentTime as epoch milliseconds', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-03-01T00:00:00Z' }, { currentTime: Date.UTC(2026, 2, 1, 0, 0, 1) }, true],
    // NUM_EQ compares within epsilon (as the Rust core does); the ordering operators exactly.
    ['NUM_EQ holds for a computed 0.1 + 0.2 against 0.3', { contextName: 'n', operator: 'NUM_EQ', value: '0.3' }, { properties: { n: 0.1 + 0.2 } }, true],
    ['NUM_EQ holds for the text of 0.1 + 0.2', { contextName: 'n', operator: 'NUM_EQ', value: '0.3' }, { properties: { n: String(0.1 + 0.2) } }, true],
    ['NUM_EQ misses a value one part in 10^9 away', { contextName: 'n', operator: 'NUM_EQ', value: '0.3' }, { properties: { n: 0.300000001 } }, false],
    ['NUM_EQ on Infinity', { contextName: 'n', operator: 'NUM_EQ', value: 'Infinity' }, { properties: { n: Infinity } }, true],
    ['NUM_GT compares exactly (0.1 + 0.2 > 0.3)', { contextName: 'n', operator: 'NUM_GT', value: '0.3' }, { properties: { n: 0.1 + 0.2 } }, true],
    ['NUM_LTE compares exactly', { contextName: 'n', operator: 'NUM_LTE', value: '0.3' }, { properties: { n: 0.1 + 0.2 } }, false],
    ['SEMVER with a trailing space in the context is not a version', { contextName: 'v', operator: 'SEMVER_EQ', value: '1.2.3' }, { properties: { v: '1.2.3 ' } }, false],
    ['SEMVER with a leading space in the context is not a version', { contextName: 'v', operator: 'SEMVER_EQ', value: '1.2.3' }, { properties: { v: ' 1.2.3' } }, false],
    ['NUM_* reads a bigint', { contextName: 'n', operator: 'NUM_GTE', value: '10' }, { properties: { n: 10n } }, true],
    ['DATE_BEFORE with a context time', { contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2026-01-01T00:00:00Z' }, { currentTime: '2025-12-31T23:59:59Z' }, true],
    ['DATE_AFTER with a Date object', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00.000Z' }, { currentTime: new Date('2026-01-01T00:00:01Z') }, true],
    ['DATE_* with a bad context time is false', { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00Z' }, { currentTime: 'not a date' }, false],
    ['DATE_* with a bad constraint date is false', { contextName: 'currentTime', operator: 'DATE_AFTER', value: 'soon' }, {}, false],
    ['SEMVER_EQ', { contextName: 'v', operator: 'SEMVER_EQ', value: '1.2.3' }, { properties: { v: '1.2.3' } }, true],
    ['SEMVER_GT with a pre-release', { contextName: 'v', operator: 'SEMVER_GT', value: '1.2.3-beta.1' }, { properties: { v: '1.2.3-beta.2' } }, true],
    ['SEMVER_LT: a pre-release is lower than its release', { contextName: 'v', operator: 'SEMVER_LT', value: '1.2.3' }, { properties: { v: '1.2.3-rc.1' } }, true],
    ['SEMVER_GTE', { contextName: 'v', operator: 'SEMVER_GTE', value: '2.0.0' }, { properties: { v: '2.0.0' } }, true],
    ['SEMVER_LTE miss', { contextName: 'v', operator: 'SEMVER_LTE', value: '2.0.0' }, { properties: { v: '2.0.1' } }, false],
    ['SEMVER with an invalid context version is false', { contextName: 'v', operator: 'SEMVER_GT', value: '1.0.0' }, { properties: { v: 'v2' } }, false],
    ['SEMVER rejects a leading v', { contextName: 'v', operator: 'SEMVER_EQ', value: '1.0.0' }, { properties: { v: 'v1.0.0' } }, false],
    ['REGEX', { operator: 'REGEX', value: '^user-\\d+$' }, { userId: 'user-42' }, true],
    ['REGEX caseInsensitive', { operator: 'REGEX', value: '^abc$', caseInsensitive: true }, { userId: 'ABC' }, true],
    ['REGEX with an invalid pattern is false', { operator: 'REGEX', value: '(' }, { userId: '(' }, false],
    ['REGEX with a null pattern is false', { operator: 'REGEX' }, { userId: 'x' }, false],
    ['REGEX with a lookahead is false', { operator: 'REGEX', value: '(?=a)a' }, { userId: 'a' }, false],
    ['IN_CIDR v4', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8'] }, { remoteAddress: '10.1.2.3' }, true],
    ['IN_CIDR v6', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['2001:db8::/32'] }, { remoteAddress: '2001:db8::5' }, true],
    ['IN_CIDR miss', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8', '192.168.0.0/16'] }, { remoteAddress: '172.16.0.1' }, false],
    ['IN_CIDR with a non-address is false', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8'] }, { remoteAddress: 'localhost' }, false],
    ['an unknown operator is false', { operator: 'SOUNDS_LIKE', values: ['a'] }, { userId: 'a' }, false],
    ['an unknown operator stays false when inverted', { operator: 'SOUNDS_LIKE', values: ['a'], inverted: true }, { userId: 'a' }, false],
  ])('%s', (_name, def, context, expected) => {
    expect(check(def, context)).toBe(expected);
  });

  test('a catastrophic pattern cannot stall evaluation (RE2 runs in linear time)', () => {
    // A backtracking engine takes about 2^40 steps here; RE2 answers in microseconds, and if
    // it did not, this test would hang past its timeout.
    const evil = compileConstraint({ contextName: 'userId', operator: 'REGEX', value: '^(a+)+$' }, env);
    expect(constraintHolds(evil, { userId: `${'a'.repeat(40)}!` }, env)).toBe(false);
    expect(constraintHolds(evil, { userId: 'a'.repeat(40) }, env)).toBe(true);
  });

  test('problems are reported as warnings, not thrown', () => {
    warnings.length = 0;
    compileConstraint({ contextName: 'x', operator: 'REGEX', value: '(unclosed' }, env);
    compileConstraint({ contextName: 'x', operator: 'NOPE' }, env);
    expect(warnings.some((w) => w.includes('invalid pattern'))).toBe(true);
    expect(warnings.some((w) => w.includes('unknown constraint operator "NOPE"'))).toBe(true);
  });
});
