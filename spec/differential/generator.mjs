/**
 * The differential test's generator: seeded random flag bodies and evaluation contexts
 * that go where the benchmark's generator (bench/generator.mjs) deliberately does not.
 *
 * Every built-in strategy (and an unknown one), all 19 operators (and an unknown one),
 * `inverted` and `caseInsensitive`, segments (missing ones and ids sent as text),
 * dependencies of every kind, feature and strategy variants with overrides, payloads and
 * every stickiness; values that do not parse (NUM "abc", bad versions, dates and regexes,
 * empty lists, nulls, padded text); rollouts without a groupId; non-ASCII ids and names.
 * Contexts hold strings and also numbers, booleans, bigints, Dates, null and undefined,
 * IPv4, IPv6 and IPv4-mapped addresses, and `currentTime` in many forms, with and without
 * an offset.
 *
 * The pools are small on purpose: flags and contexts draw from the same values, so
 * constraints and lists match often enough for both answers to be exercised.
 *
 * Same seed, same case (the host name aside, which `applicationHostname` lists must name).
 */
import { createRandom } from '../../bench/generator.mjs';

const USERS = ['u1', 'u2', 'u3', 'u4', 'user-10', 'user-11', '42', '7', '0'];
/** Ids that hash differently in the official SDK (UTF-16 low bytes): rarer, on purpose. */
const WIDE_USERS = ['üser-1', '用户-2'];
const SESSIONS = ['s-1', 's-2', 's-3', '9f8e7d6c', '42'];
const PLANS = ['free', 'pro', 'Pro', 'PRO', 'enterprise', 'team', 'straße', 'İnternal'];
const COUNTRIES = ['NO', 'SE', 'no', 'DE', 'US'];
const TENANTS = ['t-1', 't-2', 't-3', 'acme', 'ACME'];
const EMAILS = ['ann@example.com', 'bob@Example.COM', 'cé@acme.io', 'dev@unleash.io', 'x@y'];
const APP_NAMES = ['differential', 'other-app', 'Differential'];
const ENVIRONMENTS = ['production', 'staging', 'Production'];
const VERSIONS = ['1.2.3', '1.2.4', '1.10.0', '2.0.0', '2.0.0-beta.1', '2.0.0-rc.1', '1.2.3+build.7', '0.9.0'];
const BAD_VERSIONS = ['v1.2.3', '=1.2.3', ' 1.2.3', '1.2.3 ', '1.2', '01.2.3', 'abc', ''];
/** '0.30000000000000004' is String(0.1 + 0.2): a computed score passed on as text, within epsilon of '0.3'. */
const NUMBERS = ['0', '17', '18', '42', '42.0', '0.3', '0.30000000000000004', '-1', '100', '1e2'];
const BAD_NUMBERS = [' 42 ', '0x2a', 'abc', '', 'Infinity', '-0'];
const REGEXES = ['^pro', 'PRO$', '^$', '.*', '[a-z]+@example\\.com', '^u\\d+$', 'ü', '\\bteam\\b', '^.{3}$', 'a{2,}'];
const BAD_REGEXES = ['[', '(?=x)', '(a|b', '(\\w)\\1', '*'];
const ADDRESSES = ['10.1.2.3', '10.200.0.1', '192.168.1.20', '172.16.5.4', '8.8.8.8', '2001:db8::1', '2001:db8:0:0::1', '2001:DB8::1', 'fe80::1', '::1'];
const ODD_ADDRESSES = ['::ffff:10.1.2.3', '::ffff:a01:203', '::ffff:8.8.8.8', '010.1.2.3', ' 10.1.2.3', '[2001:db8::1]', 'fe80::1%eth0', 'abc', '10.1.2', ''];
const RANGES = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.1.2.3/32', '192.168.0.0/16', '172.16.0.0/12', '8.8.8.8', '2001:db8::/32', '2001:db8::1', '2001:DB8::1/128', 'fe80::/10', '::1'];
const ODD_RANGES = ['0.0.0.0/0', '::/0', '::ffff:10.0.0.0/104', '::ffff:0:0/96', '10.0.0.0/33', '10.1.2.300', 'garbage', '', ' 10.0.0.0/8 ', '010.0.0.0/8', '10.0.0.0/08'];
const HOSTS = ['other-host', 'localhost', 'build-01'];
const VARIANT_NAMES = ['control', 'treatment', 'blue', 'green', 'disabled-ish', 'vär'];
const UNKNOWN_OPERATORS = ['STR_MATCHES', 'in', ''];
/** Days the generated times gather around, so a date read in the wrong time zone shows. */
const ANCHORS = [Date.UTC(2026, 2, 1), Date.UTC(2024, 1, 29), Date.UTC(2030, 11, 31)];
const DAY = 86_400_000;

/** Context fields the generated flags read, with the values a context may hold there. */
const STRING_FIELDS = {
  userId: [...USERS, ...WIDE_USERS],
  sessionId: SESSIONS,
  plan: PLANS,
  country: COUNTRIES,
  tenant: TENANTS,
  email: EMAILS,
  appName: APP_NAMES,
  environment: ENVIRONMENTS,
};
/** Fields rollouts and variants may use as custom stickiness. */
const STICKY_FIELDS = ['userId', 'sessionId', 'plan', 'tenant', 'age', 'when', 'ip'];
/** Object.prototype members: a context "has" them through inheritance. */
const PROTOTYPE_FIELDS = ['constructor', 'toString'];

/** The `appName` and `environment` both SDKs are configured with (and fill into contexts). */
export const CLIENT_DEFAULTS = Object.freeze({ appName: 'differential', environment: 'production' });

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** A time near one of the anchors (or anywhere in 2019–2031), as epoch milliseconds. */
function timeMs(r) {
  if (r.chance(0.25)) return Date.UTC(2019, 0, 1) + Math.floor(r.next() * 12 * 365 * DAY);
  return r.pick(ANCHORS) + Math.floor((r.next() * 2 - 1) * DAY);
}

/**
 * A date as text, in one of the forms flag data and callers use: ISO with `Z`, with an
 * offset, without one (date-time, date, month, year), ISO forms JavaScript's Date does
 * not read (week, ordinal, basic, hour only, short offset), and text that is no date.
 */
function dateText(r) {
  const ms = timeMs(r);
  const d = new Date(ms);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  switch (r.weighted({ z: 40, millis: 8, offset: 14, local: 8, date: 12, month: 2, year: 1, isoOnly: 6, invalid: 6 })) {
    case 'z':
      return `${day}T${time}Z`;
    case 'millis':
      return d.toISOString();
    case 'offset':
      return `${day}T${time}${r.pick(['+05:30', '-08:00', '+00:00', '+13:45', '+0100'])}`;
    case 'local':
      return `${day}T${time}`;
    case 'date':
      return day;
    case 'month':
      return day.slice(0, 7);
    case 'year':
      return day.slice(0, 4);
    case 'isoOnly':
      return r.pick([`${day}T${pad(d.getUTCHours())}`, `${day.replaceAll('-', '')}T${time.replaceAll(':', '')}Z`, `${day}T${time}+01`, `${day.slice(0, 4)}-W10-1`, `${day.slice(0, 4)}-060`]);
    default:
      return r.pick(['yesterday', `${day.slice(0, 4)}-13-01T00:00:00Z`, '', 'not a date', String(ms)]);
  }
}

/** A context value for `field` that is not a string: what JavaScript callers pass. */
function oddValue(r, field) {
  switch (r.weighted({ number: 5, boolean: 2, bigint: 2, date: 2, nonFinite: 1, nullish: 2, empty: 3 })) {
    case 'number':
      return field === 'age' || field === 'score' ? r.pick([42, 17, 0.1 + 0.2, -1, 0]) : r.pick([42, 7, 0, 1.5]);
    case 'boolean':
      return r.chance(0.5);
    case 'bigint':
      return r.pick([42n, 7n, 0n]);
    case 'date':
      return new Date(timeMs(r));
    case 'nonFinite':
      return r.pick([NaN, Infinity]);
    case 'nullish':
      return r.chance(0.5) ? null : undefined;
    default:
      return '';
  }
}

function stringValue(r, field) {
  switch (field) {
    case 'age':
    case 'score':
      return r.pick(r.chance(0.8) ? NUMBERS : BAD_NUMBERS);
    case 'version':
      return r.pick(r.chance(0.8) ? VERSIONS : BAD_VERSIONS);
    case 'ip':
    case 'remoteAddress':
      return r.pick(r.chance(0.75) ? ADDRESSES : ODD_ADDRESSES);
    case 'when':
      return dateText(r);
    case 'userId':
      return r.chance(0.06) ? r.pick(WIDE_USERS) : r.pick(USERS);
    default:
      return r.pick(STRING_FIELDS[field] ?? PLANS);
  }
}

/** A context value for `field`: usually a string from the field's pool. */
function contextValue(r, field, oddRate) {
  return r.chance(oddRate) ? oddValue(r, field) : stringValue(r, field);
}

/** 1..n distinct picks from `pool`. */
function some(r, pool, n) {
  return [...new Set(Array.from({ length: r.int(1, n) }, () => r.pick(pool)))];
}

/** Padded or empty list entries, now and then: text the server passes through as typed. */
function roughen(r, values) {
  if (r.chance(0.05)) return values.map((v) => (r.chance(0.5) ? ` ${v}` : `${v} `));
  if (r.chance(0.03)) return [...values, ''];
  return values;
}

function constraint(r) {
  const inverted = r.chance(0.2);
  const caseInsensitive = r.chance(0.3);
  const c = (contextName, operator, extra) => ({ contextName, operator, ...extra, inverted, caseInsensitive });
  const kind = r.weighted({ in: 16, str: 10, num: 10, date: 10, semver: 9, regex: 7, cidr: 9, unknown: 1, malformed: 2 });
  switch (kind) {
    case 'in': {
      const field = r.chance(0.03) ? r.pick(PROTOTYPE_FIELDS) : r.pick(Object.keys(STRING_FIELDS));
      const pool = STRING_FIELDS[field] ?? PLANS;
      // Over twelve values takes the engine's sorted-list path.
      const values = r.chance(0.08) ? Array.from({ length: r.int(13, 20) }, (_, i) => (i < pool.length ? pool[i] : `${field}-${i}`)) : some(r, pool, 4);
      return c(field, r.chance(0.65) ? 'IN' : 'NOT_IN', { values: roughen(r, values) });
    }
    case 'str': {
      const field = r.pick(['plan', 'email', 'tenant', 'userId', 'country']);
      const pool = STRING_FIELDS[field];
      const values = some(r, pool, 2).map((v) => (v.length > 2 && r.chance(0.6) ? (r.chance(0.5) ? v.slice(0, 2) : v.slice(-3)) : v));
      return c(field, r.pick(['STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH']), { values: roughen(r, values) });
    }
    case 'num': {
      const operator = r.pick(['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE']);
      const text = r.pick(r.chance(0.85) ? NUMBERS : BAD_NUMBERS);
      const field = r.pick(['age', 'score']);
      // Servers send `value`; older data puts the operand in `values` or sends null.
      if (r.chance(0.05)) return c(field, operator, { value: null, values: [text] });
      if (r.chance(0.03)) return c(field, operator, { values: [text] });
      return c(field, operator, { value: r.chance(0.05) ? Number(text) || 0 : text, values: [] });
    }
    case 'date': {
      const operator = r.pick(['DATE_AFTER', 'DATE_BEFORE']);
      if (r.chance(0.04)) return c('currentTime', operator, { values: [dateText(r)] });
      return c('currentTime', operator, { value: dateText(r), values: [] });
    }
    case 'semver': {
      const operator = r.pick(['SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE']);
      return c('version', operator, { value: r.pick(r.chance(0.8) ? VERSIONS : BAD_VERSIONS), values: [] });
    }
    case 'regex': {
      const field = r.pick(['plan', 'email', 'userId', 'tenant']);
      if (r.chance(0.03)) return c(field, 'REGEX', { value: null, values: [r.pick(REGEXES)] });
      return c(field, 'REGEX', { value: r.pick(r.chance(0.8) ? REGEXES : BAD_REGEXES), values: [] });
    }
    case 'cidr': {
      const values = Array.from({ length: r.int(1, 3) }, () => r.pick(r.chance(0.75) ? RANGES : ODD_RANGES));
      return c(r.chance(0.8) ? 'remoteAddress' : 'ip', 'IN_CIDR', { values: r.chance(0.04) ? [] : values });
    }
    case 'unknown':
      return c(r.pick(['plan', 'userId']), r.pick(UNKNOWN_OPERATORS), { values: some(r, PLANS, 2) });
    default:
      // Shapes the server never sends but a hand-edited or foreign file may hold.
      switch (r.weighted({ noName: 2, noValues: 2, numberValues: 2, nullValues: 1 })) {
        case 'noName':
          return { operator: 'IN', values: ['pro'], inverted };
        case 'noValues':
          return { contextName: 'plan', operator: r.pick(['IN', 'NOT_IN', 'STR_CONTAINS', 'IN_CIDR']), inverted };
        case 'numberValues':
          return c('age', r.pick(['IN', 'NOT_IN']), { values: [42, '17'] });
        default:
          return c('plan', r.pick(['IN', 'NOT_IN']), { values: ['pro', null] });
      }
  }
}

function payloadOf(r, name) {
  switch (r.weighted({ none: 4, string: 3, json: 2, number: 1, csv: 1, odd: 0.3 })) {
    case 'string':
      return { type: 'string', value: `copy of ${name}` };
    case 'json':
      return { type: 'json', value: JSON.stringify({ name, size: r.int(1, 5) }) };
    case 'number':
      return { type: 'number', value: String(r.int(1, 100)) };
    case 'csv':
      return { type: 'csv', value: 'a,b,c' };
    case 'odd':
      return r.pick([{ type: 'number', value: 7 }, { type: 'string' }, { value: 'no type' }]);
    default:
      return undefined;
  }
}

/** A stickiness for variants or rollouts: default, a field, random, or odd spellings. */
function stickinessOf(r) {
  switch (r.weighted({ default: 40, field: 30, random: 8, empty: 2, none: 20 })) {
    case 'default':
      return 'default';
    case 'field':
      return r.chance(0.03) ? r.pick(PROTOTYPE_FIELDS) : r.pick(STICKY_FIELDS);
    case 'random':
      return 'random';
    case 'empty':
      return '';
    default:
      return undefined;
  }
}

/** Variants whose weights add to 1000 as the server sends them, or, rarely, do not. */
function variants(r, { overrides }) {
  const n = r.int(1, 4);
  const names = some(r, VARIANT_NAMES, n + 2).slice(0, n);
  const cuts = Array.from({ length: names.length - 1 }, () => r.int(0, 1000)).sort((a, b) => a - b);
  const weights = [...cuts, 1000].map((cut, i) => cut - (i === 0 ? 0 : cuts[i - 1]));
  const stickiness = stickinessOf(r);
  const oddWeights = r.chance(0.04);
  return names.map((name, i) => {
    const v = { name, weight: weights[i], weightType: 'variable' };
    if (oddWeights) v.weight = r.pick([String(weights[i]), -weights[i], weights[i] + 0.5, undefined]);
    if (stickiness !== undefined) v.stickiness = stickiness;
    const payload = payloadOf(r, name);
    if (payload) v.payload = payload;
    if (overrides && r.chance(0.3)) {
      const field = r.pick(['userId', 'plan', 'tenant', 'age']);
      v.overrides = [{ contextName: field, values: field === 'age' ? some(r, NUMBERS, 2) : some(r, STRING_FIELDS[field] ?? TENANTS, 3) }];
    }
    return v;
  });
}

function percentageText(r) {
  if (r.chance(0.06)) return r.pick([' 50 ', 'abc', '', '150', '-5', '33.3', '1e2', 'Infinity']);
  return String(r.pick([0, 1, 10, 25, 50, 75, 99, 100, r.int(0, 100)]));
}

function listParameter(r, values) {
  const list = values.join(r.chance(0.5) ? ',' : ', ');
  if (r.chance(0.06)) return ` ${list} `;
  if (r.chance(0.04)) return `${list},,${values[0]}`;
  return list;
}

function strategy(r, flagName, index, segmentCount, hostname) {
  const name = r.weighted({
    default: 14,
    userWithId: 10,
    gradualRolloutUserId: 7,
    gradualRolloutSessionId: 6,
    gradualRolloutRandom: 4,
    flexibleRollout: 30,
    remoteAddress: 11,
    applicationHostname: 6,
    customThing: 2,
  });
  const groupId = r.weighted({ flag: 80, other: 8, none: 12 });
  const parameters = {};
  if (groupId === 'flag') parameters.groupId = flagName;
  else if (groupId === 'other') parameters.groupId = r.chance(0.3) ? `grüppe-${index}` : `group-${index}`;
  switch (name) {
    case 'flexibleRollout': {
      parameters.rollout = percentageText(r);
      const stickiness = stickinessOf(r);
      if (stickiness !== undefined) parameters.stickiness = stickiness;
      if (r.chance(0.02)) parameters.rollout = 50;
      break;
    }
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
    case 'gradualRolloutRandom':
      parameters.percentage = percentageText(r);
      break;
    case 'userWithId':
      parameters.userIds = listParameter(r, some(r, STRING_FIELDS.userId, 5));
      break;
    case 'remoteAddress':
      parameters.IPs = listParameter(r, Array.from({ length: r.int(1, 4) }, () => r.pick(r.chance(0.7) ? RANGES : ODD_RANGES)));
      break;
    case 'applicationHostname': {
      const hosts = some(r, [...HOSTS, hostname, hostname.toUpperCase()], 3);
      parameters.hostNames = listParameter(r, hosts);
      break;
    }
    default:
      break;
  }
  const s = { name, parameters, constraints: [], segments: [], variants: [] };
  if (r.chance(0.5)) s.constraints = Array.from({ length: r.int(1, 3) }, () => constraint(r));
  if (r.chance(0.18)) {
    s.segments = some(r, Array.from({ length: segmentCount }, (_, i) => i + 1), 2);
    if (r.chance(0.1)) s.segments.push(segmentCount + 100);
    if (r.chance(0.08)) s.segments = s.segments.map(String);
  }
  if (r.chance(0.18)) s.variants = variants(r, { overrides: r.chance(0.3) });
  if (r.chance(0.01)) delete s.parameters;
  return s;
}

/** A flag name: ASCII mostly, non-ASCII now and then (it is the default hash group). */
function flagName(r, seed, i) {
  return r.chance(0.05) ? `${r.pick(['flägg', 'フラグ', 'ƒlag'])}-${seed}-${i}` : `flag-${seed}-${i}`;
}

function feature(r, name, segmentCount, hostname) {
  const strategyCount = r.weighted({ 0: 8, 1: 60, 2: 24, 3: 8 });
  const f = {
    name,
    type: 'release',
    enabled: r.chance(0.88),
    stale: false,
    impressionData: r.chance(0.05),
    strategies: Array.from({ length: Number(strategyCount) }, (_, k) => strategy(r, name, k, segmentCount, hostname)),
    variants: r.chance(0.35) ? variants(r, { overrides: true }) : [],
    dependencies: [],
  };
  if (r.chance(0.015)) f.enabled = r.pick(['true', 1]);
  if (r.chance(0.01)) delete f.strategies;
  return f;
}

/** A dependency on `parent` (or on a flag that does not exist). */
function dependency(r, parent) {
  switch (r.weighted({ on: 8, explicit: 3, off: 5, variants: 6, missing: 1 })) {
    case 'on':
      return { feature: parent.name };
    case 'explicit':
      return { feature: parent.name, enabled: true };
    case 'off':
      return { feature: parent.name, enabled: false };
    case 'variants': {
      const names = (parent.variants ?? []).map((v) => v.name);
      const wanted = some(r, [...names, 'disabled', 'nope'], 2);
      return { feature: parent.name, enabled: true, variants: wanted };
    }
    default:
      return { feature: `retired-${parent.name}` };
  }
}

/**
 * One case: a client-API body of `flags` flags and 6 segments, and `contexts` queries
 * (a context, and the fallbacks to pass with it). `hostname` is the host the SDKs run on:
 * `applicationHostname` lists name it, in some case or other, now and then.
 */
export function generateCase(seed, { flags = 40, contexts = 100, hostname = 'localhost' } = {}) {
  const r = createRandom(seed * 7919 + 17);
  const segmentCount = 6;
  const segments = Array.from({ length: segmentCount }, (_, i) => ({
    id: i + 1,
    name: `segment-${i + 1}`,
    constraints: Array.from({ length: r.int(1, 2) }, () => constraint(r)),
  }));
  const features = [];
  for (let i = 0; i < flags; i++) {
    const f = feature(r, flagName(r, seed, i), segmentCount, hostname);
    // Dependencies on earlier flags only; a parent with dependencies of its own is allowed
    // (it must make the child false).
    if (i >= 5 && r.chance(0.2)) {
      f.dependencies = Array.from({ length: r.chance(0.85) ? 1 : 2 }, () => dependency(r, features[r.int(0, i - 1)]));
    }
    features.push(f);
  }
  const names = [...features.map((f) => f.name), `unknown-${seed}-a`, `unknown-${seed}-b`];
  const queries = Array.from({ length: contexts }, () => query(r));
  return { body: { version: 2, features, segments }, names, queries };
}

function query(r) {
  const context = {};
  const odd = r.chance(0.3) ? 0.25 : 0.02;
  if (r.chance(0.8)) context.userId = contextValue(r, 'userId', odd);
  if (r.chance(0.6)) context.sessionId = contextValue(r, 'sessionId', odd);
  if (r.chance(0.75)) context.remoteAddress = contextValue(r, 'remoteAddress', odd);
  for (const field of ['appName', 'environment']) {
    const choice = r.weighted({ omit: 80, value: 14, nullish: 6 });
    if (choice === 'value') context[field] = r.pick(STRING_FIELDS[field]);
    else if (choice === 'nullish') context[field] = r.chance(0.5) ? null : undefined;
  }
  if (r.chance(0.6)) context.currentTime = currentTime(r);
  const properties = {};
  for (const field of ['plan', 'country', 'tenant', 'email', 'version', 'age', 'score', 'ip', 'when']) {
    if (!r.chance(0.6)) continue;
    const value = contextValue(r, field, odd);
    // Custom fields are looked up at the top level first: some callers put them there.
    const where = r.weighted({ properties: 85, top: 10, both: 5 });
    if (where !== 'top') properties[field] = value;
    if (where !== 'properties') context[field] = where === 'both' ? contextValue(r, field, odd) : value;
  }
  if (r.chance(0.9)) context.properties = properties;
  const q = { context };
  if (r.chance(0.3)) q.enabledFallback = r.chance(0.5);
  if (r.chance(0.2)) q.variantFallback = { name: 'fallback', enabled: true, feature_enabled: r.chance(0.5), payload: { type: 'string', value: 'fb' } };
  return q;
}

function currentTime(r) {
  switch (r.weighted({ text: 60, date: 15, number: 8, zero: 2, odd: 3 })) {
    case 'text':
      return dateText(r);
    case 'date':
      return new Date(timeMs(r));
    case 'number':
      return timeMs(r);
    case 'zero':
      return 0;
    default:
      return r.pick([true, 1_700_000_000_000n, new Date(NaN)]);
  }
}
