/**
 * The differential test's harness: loads one generated body into switchyard's
 * `UnleashClient` and into the official SDK's `Unleash` (both offline, from the same
 * body), asks both the same `isEnabled` and `getVariant` questions pair by pair, and sorts
 * every pair into agreed, explained by a known-difference rule (rules.mjs), or
 * unexplained.
 *
 * Both clients are the public ones, as a service uses them: the official `Unleash` fills
 * `appName` and `environment` into contexts as switchyard's client does, and both answer
 * fallbacks. `switchyard` holds the package's exports, main and engine entry together
 * (`dist/index.js` and `dist/engine.js`, or the TypeScript sources under jest).
 *
 * Explaining a pair: the observational rules judge the answers; any other rule must
 * also be confirmed. The pair is asked again, cheaply, on its flag alone (switchyard's
 * `Engine`; the official SDK's internal client over a stub repository, fed exactly what
 * its `Unleash` feeds it) with the quirk of each rule that applies neutralised in turn,
 * until both agree; the rules needed are then reduced to the fewest that still make them
 * agree, and the pair is counted under the first of them.
 *
 * Randomness: `Math.random` is replaced, for the whole run, by a seeded generator that
 * counts its draws (switchyard's engine takes `Math.random` when it is built; the
 * official SDK calls it each time), so runs are reproducible and each answer records
 * whether it drew. Time: contexts without `currentTime` compare with the real clock on
 * both sides; generated dates are never within a second of a run's "now" in practice.
 */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { createRandom } from '../../bench/generator.mjs';
import { CLIENT_DEFAULTS, generateCase } from './generator.mjs';
import { neutralizable, observations, rules } from './rules.mjs';

const require = createRequire(import.meta.url);

const { appName: APP_NAME, environment: ENVIRONMENT } = CLIENT_DEFAULTS;
/** A loopback port nothing listens on: the official SDK never fetches (refreshInterval 0). */
const NOWHERE = 'http://127.0.0.1:9/api';

/** Replaces Math.random by a seeded generator that counts draws; `restore()` puts it back. */
function installRandom(seed) {
  const original = Math.random;
  const source = createRandom(seed ^ 0x5eed);
  let draws = 0;
  Math.random = () => {
    draws++;
    return source.next();
  };
  return {
    /** Draws since the last call, and starts counting again. */
    take() {
      const n = draws;
      draws = 0;
      return n;
    },
    restore() {
      Math.random = original;
    },
  };
}

/** The host name each SDK's `applicationHostname` compares with. */
function hostnames() {
  return { ours: hostname(), official: process.env.HOSTNAME || hostname() };
}

async function loadOurs(switchyard, body) {
  const cache = new switchyard.MemoryCache();
  await cache.bootstrapFromDict(JSON.stringify(body));
  const client = new switchyard.UnleashClient({
    appName: APP_NAME,
    environment: ENVIRONMENT,
    offline: true,
    cache,
    disableMetrics: true,
    disableRegistration: true,
  });
  client.on('error', () => {});
  client.on('warning', () => {});
  await client.start();
  return { sdk: client, destroy: () => client.destroy() };
}

async function loadOfficial(body) {
  const { Unleash, InMemStorageProvider } = require('unleash-client');
  const unleash = new Unleash({
    appName: APP_NAME,
    environment: ENVIRONMENT,
    url: NOWHERE,
    refreshInterval: 0,
    metricsInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    bootstrap: { data: body.features, segments: body.segments },
    bootstrapOverride: true,
  });
  // Malformed flags make it emit errors; they must not crash the run.
  unleash.on('error', () => {});
  unleash.on('warn', () => {});
  await new Promise((resolve) => unleash.once('ready', resolve));
  return { sdk: unleash, destroy: async () => unleash.destroy() };
}

/** The comparable part of a variant: name, enabled, feature_enabled, payload type and value. */
function variantOf(v) {
  const out = { name: v?.name, enabled: v?.enabled, feature_enabled: v?.feature_enabled };
  if (v?.payload !== undefined && v?.payload !== null) out.payload = { type: v.payload.type, value: v.payload.value };
  return out;
}

/** One call: `{ value, draws }`, or `{ threw, draws }`. */
function ask(random, call) {
  random.take();
  try {
    const value = call();
    return { value, draws: random.take() };
  } catch (err) {
    return { threw: err instanceof Error ? err.message : String(err), draws: random.take() };
  }
}

function askClient(sdk, random, kind, name, query) {
  return ask(random, () =>
    kind === 'isEnabled' ? sdk.isEnabled(name, query.context, query.enabledFallback) : variantOf(sdk.getVariant(name, query.context, query.variantFallback)),
  );
}

/** Whether two answers are the same (what each drew aside). */
function sameAnswer(a, b) {
  if (a.threw !== undefined || b.threw !== undefined) return a.threw === b.threw;
  return JSON.stringify(a.value) === JSON.stringify(b.value);
}

/**
 * Whether two answers settle a pair: `true` when they agree, the observational rule that
 * explains them when one does (both drew at random, or the official SDK threw), else
 * `false`.
 */
function settled(c) {
  if (sameAnswer(c.ours, c.theirs)) return true;
  return observations.find((rule) => rule.applies(c)) ?? false;
}

/** The body a question needs: its flag, that flag's parents, and the segments they use. */
function minimalBody(body, name) {
  const flag = body.features.find((f) => f.name === name);
  if (flag === undefined) return { version: 2, features: [], segments: [] };
  const parents = (Array.isArray(flag.dependencies) ? flag.dependencies : []).map((d) => body.features.find((f) => f.name === d?.feature)).filter((f) => f !== undefined);
  const features = [...new Set([flag, ...parents])];
  const ids = new Set(features.flatMap((f) => (Array.isArray(f.strategies) ? f.strategies : []).flatMap((s) => (Array.isArray(s?.segments) ? s.segments : []))).map(Number));
  return { version: 2, features, segments: body.segments.filter((s) => ids.has(s.id)) };
}

/**
 * A known flag's variant as switchyard's client answers it: the caller's fallback, when
 * given, in place of the disabled variant, with `feature_enabled` telling whether the
 * flag was on.
 */
function withFallback(variant, fallback) {
  if (fallback === undefined || variant.enabled) return variant;
  return { ...fallback, feature_enabled: variant.feature_enabled };
}

/**
 * Asks one question of both SDKs on a small body, cheaply: switchyard's engine, given the
 * client's `appName` and `environment` defaults as the client gives them, and the official
 * SDK's `UnleashClient` (which its `Unleash` wraps) over a stub repository, with the
 * context spread over the same defaults as `Unleash` spreads it. Fallbacks are applied as
 * each client applies them.
 */
function makeAsker(switchyard, random) {
  const { default: OfficialClient } = require('unleash-client/lib/client');
  const { defaultStrategies } = require('unleash-client/lib/strategy');
  const host = hostnames().ours;
  const contextDefaults = { appName: APP_NAME, environment: ENVIRONMENT };
  return (c) => {
    const engine = new switchyard.Engine({ hostname: host, contextDefaults, random: Math.random, onWarning: () => {} });
    const flag = engine.load(switchyard.parseClientPayload(JSON.stringify(c.body)).payload).get(c.name);
    const toggles = new Map(c.body.features.map((f) => [f.name, f]));
    const segments = new Map(c.body.segments.map((s) => [s.id, s]));
    const official = new OfficialClient({ getToggle: (n) => toggles.get(n), getSegment: (id) => segments.get(id) }, defaultStrategies);
    official.on('error', () => {});
    official.on('warn', () => {});
    const { enabledFallback, variantFallback } = c.query;
    const theirsContext = { appName: APP_NAME, environment: ENVIRONMENT, ...c.context };
    if (c.kind === 'isEnabled') {
      return {
        ours: ask(random, () => (flag === undefined ? enabledFallback === true : flag.isEnabled(c.context))),
        theirs: ask(random, () => official.isEnabled(c.name, theirsContext, () => enabledFallback === true)),
      };
    }
    return {
      ours: ask(random, () => variantOf(flag === undefined ? (variantFallback ?? { name: 'disabled', enabled: false, feature_enabled: false }) : withFallback(flag.getVariant(c.context), variantFallback))),
      theirs: ask(random, () => variantOf(official.getVariant(c.name, theirsContext, variantFallback))),
    };
  };
}

/**
 * A deep copy of generated data. Not structuredClone: under jest that builds its Dates in
 * another realm, where `instanceof Date` fails.
 */
function copy(value) {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
  return value;
}

/** A working copy of a case: its own body (just what the question needs) and context. */
function copyOf(c) {
  return { ...c, body: copy(minimalBody(c.body, c.name)), context: copy(c.context) };
}

/** Applies each rule's neutralisation in turn (those whose predicate holds by then). */
function neutralized(c, chain) {
  const current = copyOf(c);
  for (const rule of chain) if (rule.applies(current)) rule.neutralize(current);
  return current;
}

/** Asks `c` again: `true` when the SDKs agree, the observational rule that explains them, or `false`. */
function settles(c, reask) {
  return settled({ ...c, ...reask(c) });
}

/**
 * Why a differing pair differs: `{ rules }` (an observational rule, or the fewest rules
 * whose quirks, neutralised, make the SDKs agree), or `{ rules: [], note }` when
 * unexplained (`gap` when asking again does not reproduce the pair at all). Neutralising one quirk can bring out another (a bigint id becomes text,
 * and then its non-ASCII group matters), so rules are tried until none applies any more.
 */
function judge(c, reask) {
  for (const rule of observations) if (rule.applies(c)) return { rules: [rule] };
  const current = copyOf(c);
  const again = reask(current);
  // A pair with a random draw on one side only cannot be asked again for the same answer.
  const drew = c.ours.draws > 0 || c.theirs.draws > 0;
  if (!drew && !(sameAnswer(again.ours, c.ours) && sameAnswer(again.theirs, c.theirs))) {
    return { rules: [], gap: true, note: 'asked again on its flag alone, the SDKs answered otherwise (a gap in compare.mjs)' };
  }
  const chain = [];
  for (;;) {
    const rule = neutralizable.find((r) => !chain.includes(r) && r.applies(current));
    if (rule === undefined) break;
    rule.neutralize(current);
    chain.push(rule);
    const outcome = settles(current, reask);
    if (outcome !== false) {
      // Keep only the rules needed to settle it the same way (agreement stays agreement).
      for (const r of [...chain]) {
        const without = chain.filter((x) => x !== r);
        if (without.length > 0 && settles(neutralized(c, without), reask) === outcome) chain.splice(chain.indexOf(r), 1);
      }
      return { rules: outcome === true ? chain : [...chain, outcome] };
    }
  }
  return { rules: [], note: chain.length === 0 ? 'no rule applies' : `neutralising ${chain.map((r) => r.id).join(', ')} did not make them agree` };
}

/**
 * Shrinks an unexplained difference for its report: drops strategies, constraints,
 * variants, dependencies and context fields for as long as the pair still differs,
 * unexplained.
 */
function shrink(c, reask) {
  let best = copyOf(c);
  const stillUnexplained = (candidate) => {
    const answers = reask(candidate);
    if (sameAnswer(answers.ours, answers.theirs)) return false;
    return judge({ ...candidate, ...answers }, reask).rules.length === 0;
  };
  const edits = (x) => {
    const out = [];
    const flag = x.body.features.find((f) => f.name === x.name);
    for (const f of x.body.features) {
      const strategies = Array.isArray(f.strategies) ? f.strategies : [];
      strategies.forEach((s, i) => {
        out.push(() => f.strategies.splice(i, 1));
        if (!s || typeof s !== 'object') return;
        (Array.isArray(s.constraints) ? s.constraints : []).forEach((_, j) => out.push(() => s.constraints.splice(j, 1)));
        if (Array.isArray(s.segments) && s.segments.length > 0) out.push(() => (s.segments = []));
        if (Array.isArray(s.variants) && s.variants.length > 0) out.push(() => (s.variants = []));
      });
      if (Array.isArray(f.variants) && f.variants.length > 0) out.push(() => (f.variants = []));
    }
    if (flag && Array.isArray(flag.dependencies)) flag.dependencies.forEach((_, i) => out.push(() => flag.dependencies.splice(i, 1)));
    x.body.segments.forEach((s) => (Array.isArray(s.constraints) ? s.constraints : []).forEach((_, j) => out.push(() => s.constraints.splice(j, 1))));
    for (const key of Object.keys(x.context)) out.push(() => delete x.context[key]);
    for (const key of Object.keys(x.context.properties ?? {})) out.push(() => delete x.context.properties[key]);
    return out;
  };
  for (let progress = true, rounds = 0; progress && rounds < 20; rounds++) {
    progress = false;
    for (let i = 0; i < edits(best).length; i++) {
      const trial = { ...best, body: copy(best.body), context: copy(best.context) };
      edits(trial)[i]();
      trial.body = minimalBody(trial.body, trial.name);
      if (stillUnexplained(trial)) {
        best = trial;
        progress = true;
        break;
      }
    }
  }
  return { ...best, ...reask(best) };
}

/**
 * For the harness's own test: makes the official SDK answer wrongly (its flag evaluation
 * inverted) for contexts `when` accepts, in both its `Unleash` and the client asked again,
 * so that a test can check the rules do not explain such a defect away. Returns `restore`.
 */
export function plantOfficialDefect(when) {
  const prototype = require('unleash-client/lib/client').default.prototype;
  const original = prototype.isFeatureEnabled;
  prototype.isFeatureEnabled = function planted(feature, context, fallback) {
    const result = original.call(this, feature, context, fallback);
    return when(context) ? { ...result, enabled: !result.enabled } : result;
  };
  return () => {
    prototype.isFeatureEnabled = original;
  };
}

/** Counts for a run. */
function emptyTotals() {
  return {
    seeds: 0,
    pairs: 0,
    agreed: 0,
    /** Pairs explained, under the first rule each needed. */
    excluded: Object.fromEntries(rules.map((r) => [r.id, 0])),
    /** Pairs each rule took part in explaining (first or not). */
    involved: Object.fromEntries(rules.map((r) => [r.id, 0])),
    unexplained: 0,
    examples: [],
  };
}

function addTotals(into, from, maxExamples) {
  into.seeds += from.seeds;
  into.pairs += from.pairs;
  into.agreed += from.agreed;
  into.unexplained += from.unexplained;
  for (const key of ['excluded', 'involved']) for (const [id, n] of Object.entries(from[key])) into[key][id] = (into[key][id] ?? 0) + n;
  for (const e of from.examples) if (into.examples.length < maxExamples) into.examples.push(e);
}

/**
 * Runs one seed: every (flag name, query) pair, `isEnabled` and `getVariant` each. Keeps
 * up to `maxExamples` unexplained differences, shrunk, with everything needed to
 * reproduce them.
 */
export async function runSeed(switchyard, seed, { flags, contexts, maxExamples = 5 } = {}) {
  const { body, names, queries } = generateCase(seed, { flags, contexts, hostname: hostnames().official });
  const random = installRandom(seed);
  const totals = emptyTotals();
  totals.seeds = 1;
  const loaded = [];
  try {
    loaded.push(await loadOurs(switchyard, body), await loadOfficial(body));
    const [ours, theirs] = [loaded[0].sdk, loaded[1].sdk];
    const reask = makeAsker(switchyard, random);
    for (const query of queries) {
      for (const name of names) {
        for (const kind of ['isEnabled', 'getVariant']) {
          const pair = { kind, name, body, context: query.context, query, ours: askClient(ours, random, kind, name, query), theirs: askClient(theirs, random, kind, name, query) };
          totals.pairs++;
          if (sameAnswer(pair.ours, pair.theirs)) {
            totals.agreed++;
            continue;
          }
          const verdict = judge(pair, reask);
          if (verdict.rules.length > 0) {
            totals.excluded[verdict.rules[0].id]++;
            for (const r of verdict.rules) totals.involved[r.id]++;
          } else {
            totals.unexplained++;
            // A pair the harness cannot ask again is reported as found.
            const shrunk = verdict.gap ? { ...copyOf(pair), ours: pair.ours, theirs: pair.theirs } : shrink(pair, reask);
            if (totals.examples.length < maxExamples) totals.examples.push({ seed, note: verdict.note, original: pair, shrunk });
          }
        }
      }
    }
  } finally {
    for (const l of loaded) await l.destroy();
    random.restore();
  }
  return totals;
}

/** Runs every seed in turn and adds up the totals. `onSeed` sees each seed's own. */
export async function runSeeds(switchyard, seeds, { onSeed, maxExamples = 5, ...options } = {}) {
  const totals = emptyTotals();
  for (const seed of seeds) {
    const one = await runSeed(switchyard, seed, { maxExamples, ...options });
    onSeed?.(seed, one);
    addTotals(totals, one, maxExamples);
  }
  return totals;
}

/** The ids of the rules that explained nothing in `totals`. */
export function unusedRules(totals) {
  return rules.filter((r) => !(totals.involved[r.id] > 0)).map((r) => r.id);
}

/** A value as JavaScript source, so that Dates, bigints and undefined survive printing. */
export function showValue(value) {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'new Date(NaN)' : `new Date(${JSON.stringify(value.toISOString())})`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${showValue(v)}`);
    return `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** One unexplained difference, shrunk, printed so that it can be reproduced by hand. */
export function formatDifference({ seed, note, shrunk: d }) {
  const fallback = d.kind === 'isEnabled' ? d.query.enabledFallback : d.query.variantFallback;
  const call = `${d.kind}(${JSON.stringify(d.name)}, context${fallback === undefined ? '' : `, ${showValue(fallback)}`})`;
  const answer = (a) => (a.threw !== undefined ? `throws ${JSON.stringify(a.threw)}` : JSON.stringify(a.value)) + (a.draws > 0 ? ` (drew ${a.draws} random numbers)` : '');
  return [
    `seed ${seed}: ${call}${note ? ` — ${note}` : ''}`,
    `  body:       ${JSON.stringify(d.body)}`,
    `  context:    ${showValue(d.context)}`,
    `  switchyard: ${answer(d.ours)}`,
    `  official:   ${answer(d.theirs)}`,
  ].join('\n');
}

/** The totals as a small table: pairs, agreed, exclusions per rule, unexplained. */
export function formatTotals(totals) {
  const width = Math.max(...rules.map((r) => r.id.length));
  const excluded = Object.values(totals.excluded).reduce((a, b) => a + b, 0);
  const percent = (n) => `${((100 * n) / Math.max(1, totals.pairs)).toFixed(2)}%`;
  const lines = [
    `seeds ${totals.seeds}: ${totals.pairs} pairs compared, ${totals.agreed} agreed (${percent(totals.agreed)}), ${excluded} explained by a rule (${percent(excluded)}), ${totals.unexplained} unexplained`,
    `explained, by rule (first rule needed / all pairs the rule took part in):`,
  ];
  for (const r of rules) {
    const counts = `${String(totals.excluded[r.id] ?? 0).padStart(7)} / ${String(totals.involved[r.id] ?? 0).padEnd(7)}`;
    lines.push(`  ${r.id.padEnd(width)} ${counts}`);
  }
  return lines.join('\n');
}
