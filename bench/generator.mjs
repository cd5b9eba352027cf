/**
 * A deterministic generator of a realistic Unleash flag set and of evaluation contexts.
 *
 * Same seed, same bytes: both systems of the benchmark (and the smoke test) evaluate the
 * very same flags against the very same contexts, so their answer digests must agree.
 *
 * Everything is ASCII and every flag avoids the few points where the official Node SDK
 * knowingly differs from switchyard (see README, "Differences from the official Node
 * SDK"): rollout and strategy-variant `groupId`s are always explicit, and no stickiness
 * can fall back to randomness (every context has a userId or a sessionId, and custom
 * stickiness only uses a field every context has).
 */

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; plenty for test data. */
export function createRandom(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(next() * list.length)];
  const chance = (p) => next() < p;
  /** Picks a key of `weights` ({ key: weight }) with probability proportional to its weight. */
  const weighted = (weights) => {
    let total = 0;
    for (const w of Object.values(weights)) total += w;
    let r = next() * total;
    for (const [key, w] of Object.entries(weights)) {
      r -= w;
      if (r < 0) return key;
    }
    return Object.keys(weights)[0];
  };
  return { next, int, pick, chance, weighted };
}

const AREAS = ['checkout', 'search', 'billing', 'onboarding', 'profile', 'feed', 'admin', 'mobile', 'api', 'growth'];
const WORDS = ['new', 'fast', 'beta', 'redesign', 'v2', 'dark-mode', 'recommendations', 'cache', 'pricing', 'export', 'sso', 'banner', 'limits', 'ranking', 'wizard'];
const TYPES = ['release', 'release', 'release', 'experiment', 'operational', 'kill-switch', 'permission'];
const PROJECTS = ['default', 'web', 'mobile', 'platform'];
const PLANS = ['free', 'pro', 'business', 'enterprise'];
const COUNTRIES = ['NO', 'SE', 'DK', 'DE', 'FR', 'ES', 'IT', 'GB', 'US', 'CA', 'BR', 'IN', 'JP', 'AU', 'NL', 'PL', 'FI', 'IE', 'PT', 'MX'];
const DOMAINS = ['example.com', 'Example.COM', 'acme.io', 'corp.acme.io', 'mail.net', 'getunleash.io'];
const VARIANT_NAMES = ['control', 'treatment', 'blue', 'green', 'red', 'variant-a', 'variant-b', 'variant-c', 'compact', 'wide'];
const TENANTS = 200;
const USERS = 100_000;

const userId = (n) => `user-${n}`;
const tenantId = (n) => `tenant-${n}`;

/** Fisher–Yates, driven by the seeded generator. */
function shuffle(r, list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function semverOf(r) {
  const core = `${r.int(0, 4)}.${r.int(0, 12)}.${r.int(0, 20)}`;
  return r.chance(0.15) ? `${core}-${r.pick(['alpha', 'beta', 'rc'])}.${r.int(1, 5)}` : core;
}

function isoDate(r, fromYear, toYear) {
  const from = Date.UTC(fromYear, 0, 1);
  const to = Date.UTC(toYear + 1, 0, 1);
  return new Date(from + Math.floor(r.next() * (to - from))).toISOString();
}

function ipv4(r) {
  switch (r.weighted({ ten: 3, home: 2, corp: 1, pub: 4 })) {
    case 'ten':
      return `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    case 'home':
      return `192.168.${r.int(0, 20)}.${r.int(1, 254)}`;
    case 'corp':
      return `172.${r.int(16, 31)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    default:
      return `${r.int(11, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
  }
}

function cidr(r) {
  switch (r.weighted({ ten: 2, home: 2, corp: 1, pub: 2 })) {
    case 'ten':
      return `10.${r.int(0, 255)}.0.0/${r.pick([8, 12, 16])}`;
    case 'home':
      return `192.168.${r.int(0, 20)}.0/${r.pick([16, 20, 24])}`;
    case 'corp':
      return `172.${r.int(16, 31)}.0.0/${r.pick([12, 16])}`;
    default:
      return `${r.int(11, 223)}.${r.int(0, 255)}.0.0/${r.pick([8, 10, 16])}`;
  }
}

/** One random constraint; `values`/`value` always well-formed ASCII without padding. */
function constraint(r) {
  const inverted = r.chance(0.15);
  const kind = r.weighted({ inUser: 3, inProp: 5, str: 4, num: 3, semver: 3, date: 2, cidr: 1 });
  switch (kind) {
    case 'inUser': {
      const values = Array.from({ length: r.int(1, 30) }, () => userId(r.int(0, USERS - 1)));
      return { contextName: 'userId', operator: r.chance(0.8) ? 'IN' : 'NOT_IN', values, inverted };
    }
    case 'inProp': {
      const field = r.pick(['plan', 'country', 'tenantId', 'beta']);
      const pool = field === 'plan' ? PLANS : field === 'country' ? COUNTRIES : field === 'beta' ? ['true', 'false'] : null;
      const n = r.int(1, field === 'tenantId' ? 20 : 3);
      const values = Array.from({ length: n }, () => (pool ? r.pick(pool) : tenantId(r.int(0, TENANTS - 1))));
      return { contextName: field, operator: r.chance(0.75) ? 'IN' : 'NOT_IN', values: [...new Set(values)], inverted };
    }
    case 'str': {
      const caseInsensitive = r.chance(0.4);
      const operator = r.pick(['STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH']);
      if (r.chance(0.6)) {
        const values =
          operator === 'STR_ENDS_WITH'
            ? [`@${r.pick(DOMAINS)}`, ...(r.chance(0.3) ? [`.${r.pick(['io', 'com', 'NET'])}`] : [])]
            : operator === 'STR_STARTS_WITH'
              ? [`user${r.int(1, 9)}`, ...(r.chance(0.3) ? ['USER1'] : [])]
              : [r.pick(['acme', 'ACME', 'mail', 'unleash', '1@'])];
        return { contextName: 'email', operator, values, caseInsensitive, inverted };
      }
      const values = [r.pick(PLANS).slice(0, r.int(1, 3)), ...(r.chance(0.5) ? [r.pick(['PRO', 'Free', 'ent'])] : [])];
      return { contextName: 'plan', operator, values, caseInsensitive, inverted };
    }
    case 'num': {
      const operator = r.pick(['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE']);
      const value = operator === 'NUM_EQ' ? String(r.int(18, 60)) : r.chance(0.2) ? `${r.int(18, 60)}.5` : String(r.int(18, 70));
      return { contextName: 'age', operator, value, values: [], inverted };
    }
    case 'semver': {
      const operator = r.pick(['SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE']);
      return { contextName: 'appVersion', operator, value: semverOf(r), values: [], inverted };
    }
    case 'date': {
      // 2023–2024 only: contexts without currentTime compare with "now", which is later.
      const operator = r.pick(['DATE_AFTER', 'DATE_BEFORE']);
      return { contextName: 'currentTime', operator, value: isoDate(r, 2023, 2024), values: [], inverted };
    }
    default: {
      const values = Array.from({ length: r.int(1, 4) }, () => cidr(r));
      return { contextName: 'remoteAddress', operator: 'IN_CIDR', values, inverted };
    }
  }
}

function constraints(r, max) {
  return Array.from({ length: r.int(1, max) }, () => constraint(r));
}

function payloadOf(r, name, i) {
  switch (r.weighted({ none: 3, string: 3, json: 3, number: 1, csv: 1 })) {
    case 'string':
      return { type: 'string', value: `${name}-copy-${i}` };
    case 'json':
      return {
        type: 'json',
        value: JSON.stringify({ color: r.pick(['#1a73e8', '#34a853', '#ea4335']), size: r.int(1, 5), text: `Try ${name}`, enabled: r.chance(0.5) }),
      };
    case 'number':
      return { type: 'number', value: String(r.int(1, 1000)) };
    case 'csv':
      return { type: 'csv', value: `${r.pick(COUNTRIES)},${r.pick(COUNTRIES)},${r.pick(COUNTRIES)}` };
    default:
      return undefined;
  }
}

/**
 * A variant list whose weights add up to 1000, as the server sends them. `stickiness` is
 * only ever `default` or a field every context has, so no pick is random.
 */
function variants(r, { overrides, stickiness }) {
  const n = r.int(2, 4);
  const names = shuffle(r, [...VARIANT_NAMES]).slice(0, n);
  const cuts = Array.from({ length: n - 1 }, () => r.int(0, 1000)).sort((a, b) => a - b);
  const weights = [...cuts, 1000].map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]));
  return names.map((name, i) => {
    const v = { name, weight: weights[i], weightType: 'variable' };
    if (stickiness !== undefined) v.stickiness = stickiness;
    const payload = payloadOf(r, name, i);
    if (payload) v.payload = payload;
    if (overrides && r.chance(0.3)) {
      v.overrides = r.chance(0.7)
        ? [{ contextName: 'userId', values: Array.from({ length: r.int(1, 10) }, () => userId(r.int(0, USERS - 1))) }]
        : [{ contextName: 'tenantId', values: [tenantId(r.int(0, TENANTS - 1))] }];
    }
    return v;
  });
}

function strategy(r, flagName, index, segmentCount) {
  const kind = r.weighted({ default: 25, flexibleRollout: 45, userWithId: 14, remoteAddress: 8, gradualRolloutUserId: 4, gradualRolloutSessionId: 4 });
  const s = { name: kind, parameters: {}, constraints: [], segments: [], variants: [] };
  const groupId = r.chance(0.9) ? flagName : `${flagName}-group-${index}`;
  switch (kind) {
    case 'flexibleRollout':
      s.parameters = {
        rollout: String(r.pick([0, 5, 10, 25, 50, 50, 75, 100, 100, r.int(1, 99)])),
        stickiness: r.weighted({ default: 7, userId: 1, sessionId: 1, tenantId: 1 }),
        groupId,
      };
      break;
    case 'userWithId':
      s.parameters = { userIds: Array.from({ length: r.int(1, 40) }, () => userId(r.int(0, USERS - 1))).join(r.chance(0.5) ? ',' : ', ') };
      break;
    case 'remoteAddress': {
      const ips = Array.from({ length: r.int(1, 5) }, () => (r.chance(0.6) ? cidr(r) : ipv4(r)));
      s.parameters = { IPs: ips.join(', ') };
      break;
    }
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      s.parameters = { percentage: String(r.int(0, 100)), groupId };
      break;
    default:
      if (r.chance(0.3)) s.parameters = { groupId };
  }
  const constrained = kind === 'default' ? 0.6 : 0.45;
  if (r.chance(constrained)) s.constraints = constraints(r, 3);
  if (segmentCount > 0 && r.chance(0.15)) {
    s.segments = Array.from({ length: r.int(1, 2) }, () => r.int(1, segmentCount));
    // Now and then a segment the payload does not define: that strategy must be off.
    if (r.chance(0.05)) s.segments.push(segmentCount + 1000);
  }
  if ((kind === 'flexibleRollout' || kind === 'default') && r.chance(0.2)) {
    // Strategy variants hash in parameters.groupId: keep it explicit (see the README).
    s.parameters.groupId = groupId;
    const stickiness = kind === 'flexibleRollout' && s.parameters.stickiness === 'tenantId' ? 'tenantId' : 'default';
    s.variants = variants(r, { overrides: false, stickiness });
  }
  return s;
}

/**
 * `count` flags and their segments, as a client-API body (version 2, top-level segments).
 * The same `seed` always gives the same body.
 */
export function generateFlags(count, seed = 20240601) {
  const r = createRandom(seed);
  const segmentCount = Math.max(5, Math.round(count / 25));
  const segments = Array.from({ length: segmentCount }, (_, i) => ({
    id: i + 1,
    name: `segment-${i + 1}`,
    constraints: constraints(r, 3),
  }));
  const features = [];
  // Flags that may be depended on: no dependencies of their own.
  const parents = [];
  for (let i = 0; i < count; i++) {
    const name = `${r.pick(AREAS)}.${r.pick(WORDS)}-${String(i).padStart(5, '0')}`;
    const n = r.weighted({ zero: 5, one: 78, two: 13, three: 4 });
    const strategyCount = n === 'zero' ? 0 : n === 'one' ? 1 : n === 'two' ? 2 : 3;
    const feature = {
      name,
      description: r.chance(0.5) ? `Controls ${name.replace('.', ' ')} for gradual rollout` : null,
      type: r.pick(TYPES),
      project: r.pick(PROJECTS),
      enabled: r.chance(0.9),
      stale: r.chance(0.05),
      impressionData: r.chance(0.02),
      strategies: Array.from({ length: strategyCount }, (_, k) => strategy(r, name, k, segmentCount)),
      variants: [],
      dependencies: [],
    };
    if (r.chance(0.22)) {
      feature.variants = variants(r, { overrides: true, stickiness: r.weighted({ default: 5, none: 3, tenantId: 2 }) });
      for (const v of feature.variants) if (v.stickiness === 'none') delete v.stickiness;
    }
    if (parents.length > 10 && r.chance(0.06)) {
      const kind = r.weighted({ enabled: 12, disabled: 4, variants: 3, missing: 1 });
      const parent = r.pick(parents);
      if (kind === 'missing') feature.dependencies = [{ feature: `retired.flag-${i}` }];
      else if (kind === 'disabled') feature.dependencies = [{ feature: parent.name, enabled: false }];
      else if (kind === 'variants' && parent.variants.length > 0) {
        feature.dependencies = [{ feature: parent.name, enabled: true, variants: [parent.variants[0].name] }];
      } else feature.dependencies = [{ feature: parent.name, enabled: true }];
    } else {
      parents.push(feature);
    }
    features.push(feature);
  }
  return { version: 2, features, segments };
}

/**
 * `count` evaluation contexts. Every one has a userId or a sessionId (so no rollout or
 * variant falls back to randomness) and a tenantId (used as custom stickiness).
 */
export function generateContexts(count, seed = 7) {
  const r = createRandom(seed);
  const contexts = [];
  for (let i = 0; i < count; i++) {
    const context = {};
    const hasUser = r.chance(0.85);
    if (hasUser) context.userId = r.chance(0.9) ? userId(r.int(0, USERS - 1)) : String(r.int(1, 9_999_999));
    if (!hasUser || r.chance(0.8)) {
      context.sessionId = `${r.int(0, 0xffffffff).toString(16).padStart(8, '0')}-${r.int(0, 0xffff).toString(16).padStart(4, '0')}`;
    }
    const ip = r.weighted({ v4: 90, v6: 4, none: 6 });
    if (ip === 'v4') context.remoteAddress = ipv4(r);
    else if (ip === 'v6') context.remoteAddress = `2001:db8:${r.int(0, 0xffff).toString(16)}::${r.int(1, 0xffff).toString(16)}`;
    if (r.chance(0.5)) context.currentTime = isoDate(r, 2022, 2025);
    const properties = { tenantId: tenantId(r.int(0, TENANTS - 1)) };
    if (r.chance(0.9)) properties.plan = r.pick(PLANS);
    if (r.chance(0.9)) properties.country = r.pick(COUNTRIES);
    if (r.chance(0.7)) properties.email = `user${r.int(1, 99_999)}@${r.pick(DOMAINS)}`;
    if (r.chance(0.8)) properties.appVersion = r.chance(0.93) ? semverOf(r) : r.pick(['1.2', 'v2.0.0', 'latest']);
    if (r.chance(0.6)) properties.age = String(r.int(13, 90));
    if (r.chance(0.3)) properties.beta = r.chance(0.5) ? 'true' : 'false';
    context.properties = properties;
    contexts.push(context);
  }
  return contexts;
}
