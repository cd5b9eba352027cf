/**
 * Every known difference between switchyard and the official Node SDK (`unleash-client`
 * 6.12), once each, as a rule: an id, the reason, when it applies (a predicate over the
 * inputs: the question, the flag body, the context) and, for most, how to take the quirk
 * out of the inputs (`neutralize`).
 *
 * A rule explains a differing pair only when both hold: its predicate applies, and with
 * the quirk neutralised (alone, or together with other rules that apply) both SDKs agree
 * again (compare.mjs asks them again). A flag that merely contains a quirk somewhere
 * therefore excuses nothing. There is no list of seeds or cases anywhere.
 *
 * Two rules are observations rather than inputs, because the observation is the
 * difference itself: `official-throws` (the official SDK threw) and `random-draw` (both
 * SDKs drew from their random source). They have no `neutralize`.
 *
 * Predicates and neutralisations receive a case `c`: `{ kind, name, body, context, query,
 * ours, theirs }`, `body` holding the flag, its parents and their segments. Neutralising
 * edits `c.body`, `c.context` and `c.name` in place, or replaces `c.query` (the harness
 * passes a copy).
 */
import { UTCDate } from '@date-fns/utc';
import { parseISO } from 'date-fns';
import { RE2JS } from 're2js';
import semver from 'semver';
import { CLIENT_DEFAULTS } from './generator.mjs';

// ---------------------------------------------------------------------------------------
// Reading the inputs

const ROLLOUTS = new Set(['flexibleRollout', 'gradualRolloutUserId', 'gradualRolloutSessionId']);
const LIST_OPERATORS = new Set(['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH']);
const SINGLE_VALUE_OPERATORS = /^(NUM_|DATE_|SEMVER_|REGEX$)/;

const isObject = (v) => typeof v === 'object' && v !== null;
const isBlank = (v) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const nonAscii = (v) => typeof v === 'string' && /[^\x00-\x7f]/.test(v);
const isDateOperator = (k) => typeof k.operator === 'string' && k.operator.startsWith('DATE_');
const isDefaultStickiness = (s) => s === undefined || s === '' || s === 'default';

/** The flag asked about, or undefined for a name the body does not have. */
function flagOf(c) {
  return c.body.features.find((f) => f.name === c.name);
}

/** The flag asked about and the parents its dependencies name (those that exist). */
function flagsOf(c) {
  const flag = flagOf(c);
  if (flag === undefined) return [];
  const parents = (Array.isArray(flag.dependencies) ? flag.dependencies : [])
    .map((d) => c.body.features.find((f) => f.name === d?.feature))
    .filter((f) => f !== undefined && f !== flag);
  return [flag, ...parents];
}

function strategiesOf(flag) {
  return Array.isArray(flag.strategies) ? flag.strategies.filter(isObject) : [];
}

/** Every strategy of the flag and its parents. */
function strategies(c) {
  return flagsOf(c).flatMap(strategiesOf);
}

/** The constraint lists a strategy evaluates: its own, then its segments' (ids as numbers or text). */
function constraintListsOf(strategy, body) {
  const lists = Array.isArray(strategy.constraints) ? [strategy.constraints] : [];
  for (const id of Array.isArray(strategy.segments) ? strategy.segments : []) {
    const segment = body.segments.find((s) => s.id === Number(id));
    if (segment !== undefined && Array.isArray(segment.constraints)) lists.push(segment.constraints);
  }
  return lists;
}

/** Every constraint list of the flag and its parents (segments included, each once). */
function constraintLists(c) {
  return [...new Set(strategies(c).flatMap((s) => constraintListsOf(s, c.body)))];
}

/** Every constraint of the flag and its parents. */
function constraints(c) {
  return constraintLists(c).flat().filter(isObject);
}

/** Replaces, in place, each constraint `k` for which `edit(k)` returns something else; `null` removes it. */
function editConstraints(c, edit) {
  for (const list of constraintLists(c)) {
    for (let i = list.length - 1; i >= 0; i--) {
      if (!isObject(list[i])) continue;
      const next = edit(list[i]);
      if (next === null) list.splice(i, 1);
      else if (next !== undefined) list[i] = next;
    }
  }
}

/**
 * Every variant list of the flag and its parents, with the stickiness it is drawn by (the
 * first variant's, else for strategy variants the strategy's) and its `groupId`.
 */
function variantLists(c) {
  const lists = [];
  for (const flag of flagsOf(c)) {
    if (Array.isArray(flag.variants) && flag.variants.length > 0) {
      lists.push({ variants: flag.variants, stickiness: flag.variants[0]?.stickiness, groupId: flag.name, flag, strategy: undefined });
    }
    for (const s of strategiesOf(flag)) {
      if (!Array.isArray(s.variants) || s.variants.length === 0) continue;
      lists.push({ variants: s.variants, stickiness: s.variants[0]?.stickiness || s.parameters?.stickiness, groupId: s.parameters?.groupId, flag, strategy: s });
    }
  }
  return lists;
}

/** Whether variant draws can change this answer: a getVariant, or a dependency on a parent's variant. */
function variantsMatter(c) {
  const deps = flagOf(c)?.dependencies;
  return c.kind === 'getVariant' || (Array.isArray(deps) && deps.some((d) => Array.isArray(d?.variants) && d.variants.length > 0));
}

/** Whether a variant list's draw can pick more than one variant. */
function drawMatters(list) {
  return list.variants.filter((v) => typeof v?.weight !== 'number' || v.weight > 0).length > 1;
}

/** Whether a rollout percentage leaves the bucket to decide (neither nobody nor everybody). */
function bucketMatters(percentage) {
  const n = Number(percentage);
  return n > 0 && n < 100;
}

/** The context fields `default` stickiness reads, in order. */
function defaultFields(forVariants) {
  return forVariants ? ['userId', 'sessionId', 'remoteAddress'] : ['userId', 'sessionId'];
}

/** Fields hashed for stickiness: by rollouts and by variant draws. */
function stickyFields(c) {
  const fields = new Set();
  const add = (stickiness, forVariants) => {
    if (isDefaultStickiness(stickiness)) defaultFields(forVariants).forEach((f) => fields.add(f));
    else if (stickiness !== 'random') fields.add(stickiness);
  };
  for (const s of strategies(c)) {
    if (s.name === 'gradualRolloutUserId') fields.add('userId');
    if (s.name === 'gradualRolloutSessionId') fields.add('sessionId');
    if (s.name === 'flexibleRollout') add(s.parameters?.stickiness, false);
  }
  for (const list of variantLists(c)) add(list.stickiness, true);
  return fields;
}

/** Every context field the flag and its parents read: constraints, strategies, stickiness, overrides. */
function fieldsRead(c) {
  const fields = stickyFields(c);
  for (const k of constraints(c)) {
    if (typeof k.contextName === 'string') fields.add(k.contextName);
    if (isDateOperator(k)) fields.add('currentTime');
  }
  for (const s of strategies(c)) {
    if (s.name === 'userWithId') fields.add('userId');
    if (s.name === 'remoteAddress') fields.add('remoteAddress');
  }
  for (const list of variantLists(c)) {
    for (const v of list.variants) for (const o of Array.isArray(v?.overrides) ? v.overrides : []) fields.add(o?.contextName);
  }
  return fields;
}

function propertiesOf(context) {
  return isObject(context.properties) ? context.properties : {};
}

/**
 * The values a context holds for `field`: at the top level and in `properties`. An
 * `appName` or `environment` the caller left out is the clients' default.
 */
function valuesAt(context, field) {
  const top = Object.hasOwn(CLIENT_DEFAULTS, field) && !Object.hasOwn(context, field) ? CLIENT_DEFAULTS[field] : context[field];
  return [top, propertiesOf(context)[field]];
}

/** Whether any of `fields` holds a value `test` accepts. */
function readsValue(c, test, fields = fieldsRead(c)) {
  for (const field of fields) if (valuesAt(c.context, field).some(test)) return true;
  return false;
}

/** Replaces each value `test` accepts, at the top level and in properties, by `replace(value)` (undefined deletes it). */
function editValues(c, fields, test, replace) {
  const props = propertiesOf(c.context);
  for (const field of fields) {
    for (const holder of [c.context, props]) {
      if (!Object.hasOwn(holder, field) || !test(holder[field])) continue;
      const next = replace(holder[field]);
      if (next === undefined) delete holder[field];
      else holder[field] = next;
    }
  }
}

/** A field's value as the official SDK reads it: `context[f] ?? properties[f]`, as a string. */
function officialValue(context, field) {
  const [top, property] = valuesAt(context, field);
  const v = top ?? property;
  return v === undefined || v === null ? undefined : String(v);
}

/**
 * What the flag hashes for this context where the hash can change the answer: for each
 * rollout and variant draw, the values it may hash (either SDK's choice) and the groups
 * (its groupId, or the flag name switchyard puts in its place).
 */
function hashInputs(c) {
  const inputs = [];
  // Either SDK may hash a value's string form (and a Date's ISO or toString form).
  const strings = (fields) =>
    fields
      .flatMap((f) => valuesAt(c.context, f))
      .flatMap((v) => (v instanceof Date ? (Number.isNaN(v.getTime()) ? [String(v)] : [v.toISOString(), String(v)]) : v === undefined || v === null || v === '' ? [] : [String(v)]));
  const sticky = (stickiness, forVariants) => (isDefaultStickiness(stickiness) ? strings(defaultFields(forVariants)) : stickiness === 'random' ? [] : strings([stickiness]));
  for (const flag of flagsOf(c)) {
    for (const s of strategiesOf(flag)) {
      const groups = [s.parameters?.groupId, flag.name].filter((g) => typeof g === 'string');
      if (s.name === 'flexibleRollout' && bucketMatters(s.parameters?.rollout)) inputs.push({ values: sticky(s.parameters?.stickiness, false), groups });
      if (s.name === 'gradualRolloutUserId' && bucketMatters(s.parameters?.percentage)) inputs.push({ values: strings(['userId']), groups });
      if (s.name === 'gradualRolloutSessionId' && bucketMatters(s.parameters?.percentage)) inputs.push({ values: strings(['sessionId']), groups });
    }
  }
  if (variantsMatter(c)) {
    for (const list of variantLists(c)) {
      if (drawMatters(list)) inputs.push({ values: sticky(list.stickiness, true), groups: [list.groupId, list.flag.name].filter((g) => typeof g === 'string') });
    }
  }
  return inputs.filter((i) => i.values.length > 0);
}

/** Text with every non-ASCII character spelled out in ASCII, the same way everywhere. */
function ascii(text) {
  return text.replace(/[^\x00-\x7f]/gu, (ch) => `u${ch.codePointAt(0).toString(16)}`);
}

// Addresses as switchyard reads them (lib/engine/ip.ts): 128-bit numbers, IPv4 in the
// IPv4-mapped block, so that a range and an address can be compared here; the families
// never cross.

function v4Value(text) {
  // Decimal parts without leading zeros (010 is octal to some parsers: refused).
  if (!/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text)) return undefined;
  const parts = text.split('.').map(Number);
  return parts.some((p) => p > 255) ? undefined : BigInt(parts.reduce((a, p) => a * 256 + p, 0));
}

function v6Value(text) {
  let s = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    const v4 = v4Value(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  const all = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function addressValue(text) {
  const t = text.trim();
  if (t.includes(':')) return v6Value(t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t);
  const v4 = v4Value(t);
  return v4 === undefined ? undefined : (0xffffn << 32n) | v4;
}

function rangeValue(text) {
  const [address, prefix, extra] = text.trim().split('/');
  const network = addressValue(address);
  if (network === undefined || extra !== undefined) return undefined;
  const writtenV4 = !address.includes(':');
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (writtenV4 ? 32 : 128))) return undefined;
  const bits = prefix === undefined ? 128 : Number(prefix) + (writtenV4 ? 96 : 0);
  const shift = BigInt(128 - bits);
  const masked = (network >> shift) << shift;
  // A range in the mapped block (an IPv4 range, or a mapped one of 96 bits or more) is IPv4.
  return { network: masked, bits, v4: isV4(masked) };
}

/** Whether a 128-bit address lies in the IPv4-mapped block. */
const isV4 = (value) => value >> 32n === 0xffffn;

/** Whether switchyard reads `address` as inside `range`: the same family and the same leading bits. */
function oursContains(range, address) {
  const r = rangeValue(range);
  const a = addressValue(address);
  if (r === undefined || a === undefined || isV4(a) !== r.v4) return false;
  const shift = BigInt(128 - r.bits);
  return a >> shift === r.network >> shift;
}

const MAPPED = /^\s*\[?::ffff:/i;

/**
 * The (address, range) pairs the flag compares for this context: each IN_CIDR
 * constraint's field against its values, and remoteAddress against each `IPs` entry;
 * `inside` when switchyard finds the address in the range.
 */
function addressPairs(c) {
  const pairs = [];
  for (const k of constraints(c)) {
    if (k.operator !== 'IN_CIDR' || !Array.isArray(k.values)) continue;
    // The value each SDK reads: the top-level one (switchyard skips an empty one), else the property.
    const [top, property] = valuesAt(c.context, k.contextName);
    for (const address of top === undefined || top === null || top === '' ? [top, property] : [top]) {
      if (typeof address === 'string') for (const range of k.values) if (typeof range === 'string') pairs.push({ address, range, strategy: false });
    }
  }
  const address = c.context.remoteAddress;
  if (typeof address === 'string') {
    for (const s of strategies(c)) {
      if (s.name === 'remoteAddress') for (const range of String(s.parameters?.IPs ?? '').split(',')) pairs.push({ address, range, strategy: true });
    }
  }
  return pairs.map((p) => ({ ...p, inside: oursContains(p.range, p.address) }));
}

/** The address pairs switchyard finds inside. */
const insidePairs = (c) => addressPairs(c).filter((p) => p.inside);

/** Text `ip-address` (the official SDK's parser) rejects where switchyard reads an address: padded or bracketed. */
function isOddAddressText(text) {
  return text !== text.trim() || /^\[.*\]$/.test(text.trim().split('/')[0]);
}

/** An address or range in the plain text both parsers read: trimmed, without brackets. */
function plainAddressText(text) {
  const [address, prefix] = text.trim().split('/');
  const a = address.replace(/^\[|\]$/g, '');
  return prefix === undefined ? a : `${a}/${prefix}`;
}

/** An IPv4-mapped address or range as its IPv4 text (`::ffff:a01:203` → `10.1.2.3`, a /104 → /8). */
function unmapped(text) {
  const [address, prefix] = text.trim().replace(/^\[|\]$/g, '').split('/');
  const value = v6Value(address);
  if (value === undefined) return text;
  const v4 = Number(value & 0xffffffffn);
  const dotted = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
  return prefix === undefined ? dotted : `${dotted}/${Math.max(0, Number(prefix) - 96)}`;
}

/** Edits every address the flag compares (IN_CIDR fields, remoteAddress) with `edit`. */
function editAddresses(c, edit) {
  const fields = new Set(constraints(c).filter((k) => k.operator === 'IN_CIDR').map((k) => k.contextName));
  if (strategies(c).some((s) => s.name === 'remoteAddress')) fields.add('remoteAddress');
  editValues(c, fields, (v) => typeof v === 'string', edit);
}

/** Edits every range the flag holds (IN_CIDR values, remoteAddress `IPs`) with `edit`. */
function editRanges(c, edit) {
  editConstraints(c, (k) => (k.operator === 'IN_CIDR' && Array.isArray(k.values) ? { ...k, values: k.values.map((v) => (typeof v === 'string' ? edit(v) : v)) } : undefined));
  for (const s of strategies(c)) {
    if (s.name === 'remoteAddress' && typeof s.parameters?.IPs === 'string') s.parameters.IPs = s.parameters.IPs.split(',').map(edit).join(',');
  }
}

/** Builds date-fns results in UTC rather than the host's time zone. */
const inUtc = (value) => new UTCDate(value);
/** Text that names its zone: `Z`, GMT/UTC, or a numeric offset at the end. */
const HAS_ZONE = /(?:Z|\b(?:GMT|UTC)|[+-]\d{2}(?::?\d{2})?)$/i;
/** Text that starts like an ISO 8601 date. */
const ISO_SHAPED = /^[+-]?\d{4,6}-\d/;

/**
 * What switchyard's engine reads as a date (lib/engine/constraints.ts): ISO 8601 by
 * date-fns, in UTC when it has no offset; other text by JavaScript's Date only when it
 * names its zone and does not look like ISO (an impossible ISO date is no date).
 */
function oursDate(text) {
  if (typeof text !== 'string') return NaN;
  const t = text.trim();
  const iso = parseISO(t, { in: inUtc }).getTime();
  if (!Number.isNaN(iso)) return iso;
  return HAS_ZONE.test(t) && !ISO_SHAPED.test(t) ? Date.parse(t) : NaN;
}

/** What unleash-client reads as a date: `new Date(text)` (a zone-less date-time in local time). */
const officialDate = (text) => new Date(text).getTime();

/** ISO 8601 dates and times without a UTC offset or `Z`: date-time, date, month, year. */
const OFFSETLESS = /^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?$/;

/** SemVer as switchyard reads it: SemVer 2.0.0 only, starting with a digit, no whitespace at either end. */
const oursSemver = (text) => typeof text === 'string' && /^\d/.test(text) && !/\s$/.test(text) && semver.parse(text) !== null;
/** SemVer as the official SDK reads a context value: node-semver's, without a leading `v`. */
const officialContextSemver = (text) => semver.valid(text) !== null && !text.startsWith('v');
/** ... and the constraint's value: whatever node-semver's constructor takes. */
const officialValueSemver = (text) => typeof text === 'string' && semver.valid(text) !== null;

/** The operand switchyard reads for a single-value operator: `value`, else the first of `values`. */
function operand(k) {
  if (k.value !== undefined && k.value !== null) return k.value;
  return Array.isArray(k.values) ? k.values[0] : undefined;
}

/** The DATE_* constraints of the flag and its parents. */
function dateConstraints(c) {
  return constraints(c).filter(isDateOperator);
}

/** The date texts the flag compares: DATE_* operands, and currentTime when given as text. */
function dateTexts(c) {
  const dates = dateConstraints(c);
  if (dates.length === 0) return [];
  return [...dates.map(operand), c.context.currentTime].filter((t) => typeof t === 'string');
}

/** An ISO 8601 date switchyard reads and JavaScript's Date does not. */
const isoOnlyDate = (t) => !Number.isNaN(oursDate(t)) && Number.isNaN(officialDate(t));

/** A date-time without an offset that both read, the official SDK in the host's time zone. */
const localDate = (t) => OFFSETLESS.test(t.trim()) && !Number.isNaN(officialDate(t)) && oursDate(t) !== officialDate(t);

/** Rewrites the date texts `test` accepts (DATE_* operands and a text currentTime) as ISO with `Z`. */
function editDateTexts(c, test) {
  const iso = (t) => new Date(oursDate(t)).toISOString();
  editConstraints(c, (k) => (isDateOperator(k) && typeof operand(k) === 'string' && test(operand(k)) ? { ...k, value: iso(operand(k)), values: [] } : undefined));
  if (typeof c.context.currentTime === 'string' && test(c.context.currentTime)) c.context.currentTime = iso(c.context.currentTime);
}

/**
 * Whether switchyard finds a constraint unusable (malformed, or a value that does not
 * parse for its operator), which makes it false however `inverted` is set.
 */
function unusable(k) {
  if (typeof k.contextName !== 'string' || typeof k.operator !== 'string') return true;
  if (k.value !== undefined && k.value !== null && !['string', 'number', 'boolean'].includes(typeof k.value)) return true;
  const text = operand(k) === undefined ? undefined : String(operand(k));
  switch (k.operator.replace(/_(EQ|GTE?|LTE?|AFTER|BEFORE)$/, '')) {
    case 'NUM':
      return isBlank(text) || Number.isNaN(Number(text.trim()));
    case 'DATE':
      return Number.isNaN(oursDate(text));
    case 'SEMVER':
      return !oursSemver(text);
    case 'REGEX':
      if (text === undefined) return true;
      try {
        RE2JS.compile(text);
        return false;
      } catch {
        return true;
      }
    case 'IN_CIDR':
      return !(Array.isArray(k.values) ? k.values : []).some((v) => typeof v === 'string' && rangeValue(v) !== undefined);
    default:
      return false;
  }
}

/** A list operator's answer on `value` (a string) against `list`, before `inverted`. */
function listAnswer(operator, list, value, caseInsensitive) {
  const fold = (v) => (caseInsensitive ? v.toLowerCase() : v);
  switch (operator) {
    case 'IN':
      return list.includes(value);
    case 'NOT_IN':
      return !list.includes(value);
    case 'STR_CONTAINS':
      return list.some((v) => fold(value).includes(fold(v)));
    case 'STR_STARTS_WITH':
      return list.some((v) => fold(value).startsWith(fold(v)));
    default:
      return list.some((v) => fold(value).endsWith(fold(v)));
  }
}

/** The official SDK's cleaning of constraint values: empty ones dropped, the rest trimmed. */
const cleaned = (values) => values.filter((v) => typeof v === 'string' && v !== '').map((v) => v.trim());

const LIST_PARAMETERS = { userWithId: 'userIds', remoteAddress: 'IPs', applicationHostname: 'hostNames' };

/** A list parameter as switchyard reads it: entries trimmed, empty ones dropped. */
const oursEntries = (text) => text.split(',').map((v) => v.trim()).filter((v) => v !== '');

/** A non-string, non-Date context value: a number, boolean or bigint. */
const isOdd = (v) => v !== undefined && v !== null && typeof v !== 'string' && !(v instanceof Date);

/** The fields unleash-client's strategies and default stickiness read straight from the context, unconverted. */
const RAW_FIELDS = ['userId', 'sessionId', 'remoteAddress'];

/** The raw fields this flag reads that hold a number, boolean or bigint. */
const rawOddFields = (c) => {
  const read = fieldsRead(c);
  return RAW_FIELDS.filter((f) => read.has(f) && isOdd(c.context[f]));
};

/**
 * A NUM_EQ constraint the two read differently: the context's number (as the official
 * SDK reads it) and the operand are within Number.EPSILON and yet not equal. Returns
 * the context's number, or undefined.
 */
function nearlyEqual(c, k) {
  if (k.operator !== 'NUM_EQ') return undefined;
  const text = officialValue(c.context, k.contextName);
  const value = operand(k);
  if (text === undefined || value === undefined || value === null) return undefined;
  const a = Number(text);
  const b = Number(String(value).trim());
  return a !== b && Math.abs(a - b) < Number.EPSILON ? a : undefined;
}

// ---------------------------------------------------------------------------------------
// The rules

/** @type {import('./rules.d.mts').Rule[]} */
export const rules = [
  {
    id: 'official-throws',
    reason:
      'unleash-client does not guard evaluation: malformed data (a list of numbers or no `values` in a constraint, a strategy without parameters, a bigint currentTime) makes isEnabled/getVariant throw; switchyard never throws and answers from what it could read',
    applies: (c) => c.theirs.threw !== undefined && c.ours.threw === undefined,
  },
  {
    id: 'random-draw',
    reason:
      'both SDKs drew from their random source for this answer (random stickiness, default stickiness with no id, gradualRolloutRandom): a random bucket differs by construction (the official SDK hashes a random number, switchyard takes a random bucket directly)',
    applies: (c) => c.ours.draws > 0 && c.theirs.draws > 0,
  },
  {
    id: 'unusable-inverted',
    reason:
      'documented (unleash-wire.md): a constraint switchyard cannot use (malformed, or a number, date, version, regex or CIDR list that does not parse) is false even when inverted (fail closed); unleash-client evaluates it to false and then inverts it to true',
    applies: (c) => constraints(c).some((k) => k.inverted === true && unusable(k)),
    neutralize: (c) => editConstraints(c, (k) => (k.inverted === true && unusable(k) ? { ...k, inverted: false } : undefined)),
  },
  {
    id: 'single-value-operand',
    reason:
      'NUM_*, DATE_*, SEMVER_* and REGEX: unleash-client reads only `value` (Number(null) and Number("") are 0, new Date(null) is 1970, a missing pattern never matches); switchyard falls back to the first of `values` and finds a blank number unusable',
    applies: (c) => constraints(c).some((k) => typeof k.operator === 'string' && SINGLE_VALUE_OPERATORS.test(k.operator) && isBlank(k.value)),
    neutralize: (c) =>
      editConstraints(c, (k) => {
        if (typeof k.operator !== 'string' || !SINGLE_VALUE_OPERATORS.test(k.operator) || !isBlank(k.value)) return undefined;
        return isBlank(operand(k)) ? null : { ...k, value: String(operand(k)), values: [] };
      }),
  },
  {
    id: 'strategy-variant-group-id',
    reason:
      'strategy variants without a groupId: switchyard hashes in the flag name; unleash-client interpolates the missing parameter and hashes "undefined:<id>" (checked before group-id-default: one groupId serves both hashes)',
    applies: (c) => variantsMatter(c) && variantLists(c).some((l) => l.strategy !== undefined && isBlank(l.groupId) && drawMatters(l)),
    neutralize: (c) => {
      for (const l of variantLists(c)) if (l.strategy !== undefined && isObject(l.strategy.parameters) && isBlank(l.groupId)) l.strategy.parameters.groupId = l.flag.name;
    },
  },
  {
    id: 'group-id-default',
    reason:
      'documented (README, "Default group id"): a flexibleRollout or gradualRollout* strategy without groupId hashes in the flag name in switchyard (as the Rust core does); unleash-client hashes in an empty group',
    applies: (c) => strategies(c).some((s) => ROLLOUTS.has(s.name) && isBlank(s.parameters?.groupId)),
    neutralize: (c) => {
      for (const flag of flagsOf(c)) for (const s of strategiesOf(flag)) if (ROLLOUTS.has(s.name) && isObject(s.parameters) && isBlank(s.parameters.groupId)) s.parameters.groupId = flag.name;
    },
  },
  {
    id: 'utf8-hash',
    reason:
      'documented (README, "UTF-8 hashing"): switchyard hashes the UTF-8 bytes of "<groupId>:<value>"; unleash-client the low byte of each UTF-16 unit, so a non-ASCII id, group id or flag name buckets differently',
    applies: (c) => hashInputs(c).some((i) => i.values.some(nonAscii) || i.groups.some(nonAscii)),
    neutralize: (c) => {
      const rename = new Map(c.body.features.map((f) => [f.name, ascii(f.name)]));
      for (const f of c.body.features) {
        f.name = rename.get(f.name);
        for (const d of Array.isArray(f.dependencies) ? f.dependencies : []) if (rename.has(d?.feature)) d.feature = rename.get(d.feature);
        for (const s of strategiesOf(f)) if (typeof s.parameters?.groupId === 'string') s.parameters.groupId = ascii(s.parameters.groupId);
      }
      c.name = rename.get(c.name) ?? c.name;
      editValues(c, stickyFields(c), nonAscii, ascii);
    },
  },
  {
    id: 'strict-semver',
    reason:
      'documented (README, "Strict semver"): switchyard reads SemVer 2.0.0 only; unleash-client takes "v1.2.3" as a constraint value, and " 1.2.3" or "1.2.3 " (trimmed) on either side',
    applies: (c) =>
      constraints(c).some((k) => {
        if (typeof k.operator !== 'string' || !k.operator.startsWith('SEMVER_')) return false;
        if (oursSemver(operand(k)) !== officialValueSemver(operand(k))) return true;
        return valuesAt(c.context, k.contextName).some((v) => typeof v === 'string' && v !== '' && oursSemver(v) !== officialContextSemver(v));
      }),
    neutralize: (c) => {
      const fields = new Set();
      editConstraints(c, (k) => {
        if (typeof k.operator !== 'string' || !k.operator.startsWith('SEMVER_')) return undefined;
        fields.add(k.contextName);
        const value = operand(k);
        return oursSemver(value) === officialValueSemver(value) ? undefined : { ...k, value: semver.valid(value), values: [] };
      });
      editValues(c, fields, (v) => typeof v === 'string' && v !== '' && oursSemver(v) !== officialContextSemver(v), (v) => semver.valid(v) ?? 'not-a-version');
    },
  },
  {
    id: 'list-values-trimmed',
    reason:
      'unleash-client trims the values of IN, NOT_IN and STR_* constraints and drops empty ones; switchyard compares them as sent (" pro" is not "pro", and an empty STR_CONTAINS value is contained in every value)',
    applies: (c) =>
      constraints(c).some((k) => {
        if (!LIST_OPERATORS.has(k.operator) || !Array.isArray(k.values)) return false;
        const value = officialValue(c.context, k.contextName);
        const sent = k.values.filter((v) => typeof v === 'string');
        return value !== undefined && listAnswer(k.operator, sent, value, k.caseInsensitive === true) !== listAnswer(k.operator, cleaned(sent), value, k.caseInsensitive === true);
      }),
    neutralize: (c) => editConstraints(c, (k) => (LIST_OPERATORS.has(k.operator) && Array.isArray(k.values) ? { ...k, values: cleaned(k.values) } : undefined)),
  },
  {
    id: 'list-parameter-ends',
    reason:
      'userIds, IPs and hostNames: unleash-client splits on commas (eating the spaces around them) but never trims the first and last entries and keeps empty ones; switchyard trims every entry and drops empty ones',
    applies: (c) =>
      strategies(c).some((s) => {
        const text = s.parameters?.[LIST_PARAMETERS[s.name]];
        return typeof text === 'string' && (text !== text.trim() || /(^|,)\s*(,|$)/.test(text));
      }),
    neutralize: (c) => {
      for (const s of strategies(c)) {
        const key = LIST_PARAMETERS[s.name];
        if (typeof s.parameters?.[key] === 'string') s.parameters[key] = oursEntries(s.parameters[key]).join(',');
      }
    },
  },
  {
    id: 'address-text',
    reason:
      'an address with spaces around it (" 10.1.2.3") or in brackets ("[2001:db8::1]"), and a bracketed range: switchyard reads them; ip-address, the official parser, rejects them (it trims IN_CIDR ranges, not the context value)',
    applies: (c) => insidePairs(c).some((p) => isOddAddressText(p.address) || isOddAddressText(p.range)),
    neutralize: (c) => {
      editAddresses(c, plainAddressText);
      editRanges(c, (r) => (isOddAddressText(r) ? plainAddressText(r) : r));
    },
  },
  {
    id: 'ipv4-mapped',
    reason:
      'documented (unleash-wire.md): switchyard compares an IPv4-mapped IPv6 address (::ffff:10.1.2.3, what dual-stack sockets report) as its IPv4 address, and a mapped range as an IPv4 one; unleash-client keeps them IPv6: no IPv4 range holds them, and an IPv6 range such as ::/0 does',
    applies: (c) => addressPairs(c).some((p) => MAPPED.test(p.address) || MAPPED.test(p.range)),
    neutralize: (c) => {
      editAddresses(c, (a) => (MAPPED.test(a) ? unmapped(a) : a));
      editRanges(c, (r) => (MAPPED.test(r) ? unmapped(r) : r));
    },
  },
  {
    id: 'remote-address-ipv6',
    reason:
      'the remoteAddress strategy in unleash-client reads IPv4 addresses and ranges only (an IPv6 entry matches only the identical text); switchyard reads IPv6 entries and ranges too',
    applies: (c) => insidePairs(c).some((p) => p.strategy && (p.address.includes(':') || p.range.includes(':')) && p.range.trim() !== p.address),
    neutralize: (c) => {
      for (const s of strategies(c)) if (s.name === 'remoteAddress' && typeof s.parameters?.IPs === 'string') s.parameters.IPs = oursEntries(s.parameters.IPs).filter((e) => !e.includes(':')).join(',');
      if (typeof c.context.remoteAddress === 'string' && c.context.remoteAddress.includes(':')) delete c.context.remoteAddress;
    },
  },
  {
    id: 'date-object-text',
    reason:
      'a Date in a context field other than currentTime: switchyard reads it as its ISO string (unleash-wire.md); unleash-client as String(date), "Sun Mar 01 2026 …"',
    applies: (c) => readsValue(c, (v) => v instanceof Date, [...fieldsRead(c)].filter((f) => f !== 'currentTime')),
    neutralize: (c) => editValues(c, [...fieldsRead(c)].filter((f) => f !== 'currentTime'), (v) => v instanceof Date, (v) => (Number.isNaN(v.getTime()) ? undefined : v.toISOString())),
  },
  {
    id: 'iso-date-forms',
    reason:
      "ISO 8601 forms JavaScript's Date does not read (week and ordinal dates, basic format, an hour without minutes, a ±hh offset): switchyard reads them (date-fns); unleash-client gets an Invalid Date, which is never before or after anything",
    applies: (c) => dateTexts(c).some(isoOnlyDate),
    neutralize: (c) => editDateTexts(c, isoOnlyDate),
  },
  {
    id: 'empty-string-value',
    reason:
      'an empty string in a context field: switchyard treats it as absent (and looks in properties next); unleash-client uses "" itself (NUM reads it as 0, REGEX tests it, it hides the properties value)',
    applies: (c) => readsValue(c, (v) => v === ''),
    neutralize: (c) => editValues(c, fieldsRead(c), (v) => v === '', () => undefined),
  },
  {
    id: 'prototype-field',
    reason:
      'a constraint, stickiness or override on a field named like an Object.prototype member (constructor, toString): unleash-client reads the inherited function as the value; switchyard treats the field as absent',
    applies: (c) => [...fieldsRead(c)].some((f) => typeof f === 'string' && f in Object.prototype),
    neutralize: (c) => {
      const inherited = (f) => typeof f === 'string' && f in Object.prototype;
      editConstraints(c, (k) => (inherited(k.contextName) ? null : undefined));
      for (const s of strategies(c)) if (inherited(s.parameters?.stickiness)) s.parameters.stickiness = 'default';
      for (const l of variantLists(c)) {
        for (const v of l.variants) {
          if (inherited(v?.stickiness)) v.stickiness = 'default';
          if (Array.isArray(v?.overrides)) v.overrides = v.overrides.filter((o) => !inherited(o?.contextName));
        }
      }
    },
  },
  {
    id: 'current-time-type',
    reason:
      'currentTime given as a number or boolean: switchyard compares a number as epoch milliseconds (0 included) and a boolean as no time; unleash-client passes it to new Date() and reads 0 as "now"',
    applies: (c) => ['number', 'boolean'].includes(typeof c.context.currentTime) && dateConstraints(c).length > 0,
    neutralize: (c) => {
      const t = c.context.currentTime;
      if (typeof t === 'number' && Number.isFinite(t) && t !== 0) c.context.currentTime = new Date(t).toISOString();
      else delete c.context.currentTime;
    },
  },
  {
    id: 'nullish-default-field',
    reason:
      'appName or environment passed as null or undefined: switchyard fills in the configured default, as for a missing field; unleash-client spreads the context over its defaults, so the explicit hole wins and the field is absent',
    applies: (c) => ['appName', 'environment'].some((f) => Object.hasOwn(c.context, f) && (c.context[f] === null || c.context[f] === undefined)),
    neutralize: (c) => {
      for (const f of ['appName', 'environment']) if (Object.hasOwn(c.context, f) && (c.context[f] === null || c.context[f] === undefined)) delete c.context[f];
    },
  },
  {
    id: 'flag-enabled-not-boolean',
    reason: 'a flag whose `enabled` is not a boolean ("true", 1): switchyard reads only `true` as on; unleash-client reports it and then uses its truthiness',
    applies: (c) => flagsOf(c).some((f) => typeof f.enabled !== 'boolean'),
    neutralize: (c) => flagsOf(c).forEach((f) => (f.enabled = f.enabled === true)),
  },
  {
    id: 'strategies-not-array',
    reason:
      'a flag without a `strategies` array: switchyard reads it as no strategies (on, as the specification says of an empty list); unleash-client reports it and answers off',
    applies: (c) => flagsOf(c).some((f) => !Array.isArray(f.strategies)),
    neutralize: (c) => flagsOf(c).forEach((f) => (f.strategies = Array.isArray(f.strategies) ? f.strategies : [])),
  },
  {
    id: 'segment-id-text',
    reason: 'segment ids sent as text ("3"): switchyard reads them as numbers and finds the segment; unleash-client looks "3" up among numeric ids, misses, and turns the strategy off',
    applies: (c) => strategies(c).some((s) => Array.isArray(s.segments) && s.segments.some((id) => typeof id === 'string')),
    neutralize: (c) => strategies(c).forEach((s) => Array.isArray(s.segments) && (s.segments = s.segments.map(Number))),
  },
  {
    id: 'variant-weight-shape',
    reason:
      'variant weights that are not whole non-negative numbers ("500", -300, 12.5, missing): switchyard reads a whole number of at least 0 (text parsed, fractions floored, anything else 0); unleash-client adds them up as given (strings concatenate)',
    applies: (c) => variantLists(c).some((l) => l.variants.some((v) => !(typeof v?.weight === 'number' && Number.isInteger(v.weight) && v.weight >= 0))),
    neutralize: (c) => {
      for (const l of variantLists(c)) {
        for (const v of l.variants) {
          if (!isObject(v)) continue;
          const w = Number(v.weight);
          v.weight = Number.isFinite(w) && w > 0 ? Math.floor(w) : 0;
        }
      }
    },
  },
  {
    id: 'payload-shape',
    reason:
      'variant payloads that are not { type: string, value: string }: switchyard drops one without a type and turns a value into text ("" when missing); unleash-client returns the payload as sent',
    applies: (c) => variantLists(c).some((l) => l.variants.some((v) => isObject(v?.payload) && (typeof v.payload.type !== 'string' || typeof v.payload.value !== 'string'))),
    neutralize: (c) => {
      for (const l of variantLists(c)) {
        for (const v of l.variants) {
          if (!isObject(v?.payload)) continue;
          if (typeof v.payload.type !== 'string') delete v.payload;
          else v.payload = { type: v.payload.type, value: ['string', 'number', 'boolean'].includes(typeof v.payload.value) ? String(v.payload.value) : '' };
        }
      }
    },
  },
  {
    id: 'empty-stickiness',
    reason:
      'variants whose stickiness is "": switchyard reads it as default (userId, sessionId, remoteAddress); unleash-client looks up a context field named "" and, finding none, draws at random',
    applies: (c) => variantLists(c).some((l) => l.stickiness === ''),
    neutralize: (c) => {
      for (const l of variantLists(c)) {
        if (l.stickiness !== '') continue;
        for (const v of l.variants) if (isObject(v)) v.stickiness = 'default';
      }
    },
  },
  {
    id: 'infinite-percentage',
    reason: 'a rollout percentage of "Infinity": unleash-client reads Number("Infinity") and turns everyone on; switchyard reads a percentage that is not finite as 0',
    applies: (c) => strategies(c).some((s) => ['rollout', 'percentage'].some((p) => typeof s.parameters?.[p] === 'string' && s.parameters[p].trim() === 'Infinity')),
    neutralize: (c) => {
      for (const s of strategies(c)) for (const p of ['rollout', 'percentage']) if (typeof s.parameters?.[p] === 'string' && s.parameters[p].trim() === 'Infinity') s.parameters[p] = '0';
    },
  },
  {
    id: 'non-string-id',
    reason:
      'a number, boolean or bigint in userId, sessionId or remoteAddress: switchyard reads it as its string form everywhere (unleash-wire.md: userId 42 is the user "42"); unleash-client reads these fields raw in its strategies and default stickiness: userWithId compares with includes (42 never matches "42"), rollouts take a falsy one (0, NaN, false, 0n) for no id, default variant stickiness skips any that is not a string, remoteAddress matches no range',
    applies: (c) => rawOddFields(c).length > 0,
    neutralize: (c) => {
      for (const f of rawOddFields(c)) c.context[f] = String(c.context[f]);
    },
  },
  {
    id: 'offsetless-date-local',
    reason:
      "documented (unleash-wire.md): a DATE_* value or currentTime with a time and no offset (2026-03-01T10:00:00) is UTC in switchyard, so the answer never depends on the host; unleash-client reads it with new Date(), in the host's local time (shows under TZ=Pacific/Chatham)",
    applies: (c) => dateTexts(c).some(localDate),
    neutralize: (c) => editDateTexts(c, localDate),
  },
  {
    id: 'num-eq-epsilon',
    reason:
      'documented (unleash-wire.md): NUM_EQ in switchyard holds within Number.EPSILON, as in the Rust core, so a computed 0.1 + 0.2 equals "0.3"; unleash-client compares with ===',
    applies: (c) => constraints(c).some((k) => nearlyEqual(c, k) !== undefined),
    neutralize: (c) =>
      editConstraints(c, (k) => {
        const exact = nearlyEqual(c, k);
        return exact === undefined ? undefined : { ...k, value: String(exact), values: [] };
      }),
  },
  {
    id: 'unknown-flag-fallback',
    reason:
      'getVariant of a flag the client does not have, with a fallback variant: switchyard returns the fallback as the caller wrote it (there is no flag state to report, unleash-wire.md lists the unknown flag without one); unleash-client forces its feature_enabled to false. For known flags both set feature_enabled from the flag',
    applies: (c) => c.kind === 'getVariant' && flagOf(c) === undefined && isObject(c.query.variantFallback) && c.query.variantFallback.feature_enabled !== false,
    neutralize: (c) => {
      c.query = { ...c.query, variantFallback: { ...c.query.variantFallback, feature_enabled: false } };
    },
  },
];

/** The rules judged from the answers alone. */
export const observations = rules.filter((r) => r.neutralize === undefined);
/** The rules confirmed by neutralising their quirk and asking again, in order. */
export const neutralizable = rules.filter((r) => r.neutralize !== undefined);
