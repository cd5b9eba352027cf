/**
 * The `switchyard` command line: evaluate flags from a file or a server, explain answers,
 * lint flags files. `runCli` takes its I/O as arguments so tests drive it in-process;
 * `bin/switchyard` is a thin wrapper.
 */
import { readFile } from 'node:fs/promises';
import { Engine } from './engine/engine';
import { evaluateIn, type EvaluationResult, type StrategyMiss } from './engine/evaluation';
import { DEFAULT_MAX_BODY_SIZE, formatBytes, getBody, HttpError, MAX_BODY_SIZE_CEILING, redactUrl } from './http';
import { lintPayload } from './lint';
import { Network } from './network';
import { parseClientPayload, PayloadError } from './payload';
import type { Context } from './types';
import { SDK_NAME, SDK_VERSION } from './version';

/** Where the CLI writes, and what it reads from its surroundings. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Whether stderr is a terminal (progress is shown only then). */
  interactive: boolean;
}

const USAGE = `switchyard ${SDK_VERSION} — evaluate, explain and lint Unleash feature flags

Usage:
  switchyard eval (--features FILE | --url URL) [--flag NAME]... [--context JSON] [key=value]...
                  [--explain] [--json] [--token TOKEN] [--timeout MS] [--max-body-size BYTES]
  switchyard lint FILE [--strategy NAME]... [--json]
  switchyard --help | --version

eval     Evaluates flags (all of them without --flag) for one context and prints each
         decision and variant. --explain adds why: the strategy that matched (with the hash
         bucket for rollouts) or, for each strategy, the constraint or segment that failed.
         --url takes an Unleash API URL (http://host/api) or a URL of a flags file; the token
         comes from --token or UNLEASH_API_TOKEN, the proxy from HTTP_PROXY, HTTPS_PROXY and
         NO_PROXY. A body larger than --max-body-size (default
         ${formatBytes(DEFAULT_MAX_BODY_SIZE)}, after decompression) is refused.
         Context: --context '{"userId":"42","properties":{"plan":"pro"}}' and/or key=value
         pairs; userId, sessionId, remoteAddress, environment, appName and currentTime go at
         the top level, anything else (or properties.NAME=value) into properties.
lint     Checks a flags file: unknown strategies and operators, bad regexes and values,
         rollout percentages outside 0–100, empty userIds, IPs that are not addresses,
         missing segments, dependency cycles. Exit code 1 when it finds an error.
         --strategy NAME declares a custom strategy your application registers.

Exit codes: 0 done, 1 lint errors or an eval --flag that is not in the flags, 2 bad usage or input.`;

const TOP_LEVEL = new Set(['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'currentTime']);

/** A usage or input problem: one clear line, exit code 2. */
class CliError extends Error {}

interface Args {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string[]>;
  switches: Set<string>;
}

const VALUED = new Set(['--features', '--url', '--flag', '--context', '--token', '--timeout', '--max-body-size', '--strategy']);
const SWITCHES = new Set(['--explain', '--json', '--help', '-h', '--version']);

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { command: undefined, positional: [], flags: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (SWITCHES.has(arg)) args.switches.add(arg);
    else if (VALUED.has(arg)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new CliError(`${arg} needs a value`);
      args.flags.set(arg, [...(args.flags.get(arg) ?? []), value]);
    } else if (arg.startsWith('-')) throw new CliError(`unknown option ${arg} (see switchyard --help)`);
    else if (args.command === undefined) args.command = arg;
    else args.positional.push(arg);
  }
  return args;
}

function one(args: Args, name: string): string | undefined {
  const values = args.flags.get(name);
  if (values !== undefined && values.length > 1) throw new CliError(`${name} may be given once`);
  return values?.[0];
}

/** Builds the context from --context JSON and key=value pairs. */
export function buildContext(json: string | undefined, pairs: readonly string[]): Context {
  let context: Context = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new CliError('--context is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError('--context must be a JSON object');
    context = { ...(parsed as Context) };
  }
  const properties: Record<string, string> = { ...(context.properties as Record<string, string> | undefined) };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`"${pair}" is not a key=value pair`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key.startsWith('properties.')) properties[key.slice('properties.'.length)] = value;
    else if (TOP_LEVEL.has(key)) (context as Record<string, unknown>)[key] = value;
    else properties[key] = value;
  }
  if (Object.keys(properties).length > 0) context.properties = properties;
  return context;
}

function featuresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: a token pasted into the wrong option is the usual cause.
    throw new CliError('--url is not a valid absolute URL (e.g. https://unleash.example.com/api)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError('--url must be an http or https URL (e.g. https://unleash.example.com/api)');
  }
  if (parsed.pathname.endsWith('.json') || parsed.pathname.endsWith('/client/features')) return parsed.toString();
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/client/features`;
  return parsed.toString();
}

async function fetchFlags(url: string, args: Args, io: CliIo): Promise<Buffer> {
  const target = featuresUrl(url);
  const token = one(args, '--token') ?? io.env.UNLEASH_API_TOKEN;
  const timeoutText = one(args, '--timeout');
  const timeout = timeoutText === undefined ? 30_000 : Number(timeoutText);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError('--timeout must be a positive number of milliseconds');
  const maxText = one(args, '--max-body-size');
  const maxBodySize = maxText === undefined ? DEFAULT_MAX_BODY_SIZE : Number(maxText);
  if (!Number.isInteger(maxBodySize) || maxBodySize <= 0 || maxBodySize > MAX_BODY_SIZE_CEILING) {
    throw new CliError(`--max-body-size must be a whole number of bytes from 1 to ${MAX_BODY_SIZE_CEILING}`);
  }
  const headers: Record<string, string> = {
    'UNLEASH-APPNAME': 'switchyard-cli',
    'unleash-sdk': SDK_NAME,
    'Unleash-Client-Spec': '5.2.0',
  };
  if (token !== undefined && token !== '') headers.Authorization = token;
  // A slow server gets a ticking line on a terminal, so a long fetch never looks hung.
  const started = Date.now();
  const ticker = io.interactive
    ? setInterval(() => io.stderr(`\rfetching ${new URL(target).host} … ${((Date.now() - started) / 1000).toFixed(0)} s`), 1000)
    : undefined;
  ticker?.unref();
  // The proxy comes from the CLI's environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
  const warnings: string[] = [];
  const network = new Network(new URL(target), {}, io.env, warnings);
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  try {
    return await getBody(target, { headers, timeout, maxBodySize, transport: await network.transport('GET', redactUrl(target)) });
  } catch (caught) {
    const err = network.explain(caught, target);
    if (err instanceof HttpError) {
      const hint =
        err.status === 401 || err.status === 403
          ? ' (check --token or UNLEASH_API_TOKEN)'
          : err.code === 'HTTP_BODY_TOO_LARGE'
            ? ' (raise it with --max-body-size)'
            : '';
      throw new CliError(`${err.message}${hint}`);
    }
    throw err;
  } finally {
    network.destroy();
    if (ticker !== undefined) {
      clearInterval(ticker);
      io.stderr('\r\x1b[K');
    }
  }
}

async function readJsonFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot be read (${code ?? 'error'})`);
  }
}

function describeMiss(m: StrategyMiss): string {
  const head = `#${m.index} ${m.name}: `;
  switch (m.failure) {
    case 'UNKNOWN_STRATEGY':
      return `${head}unknown strategy (off)`;
    case 'SEGMENT_MISSING':
      return `${head}segment ${m.segmentIds.join(', ')} not defined (off)`;
    case 'CONSTRAINT_FAILED':
    case 'SEGMENT_FAILED': {
      const c = m.constraint;
      const wanted = c.value ?? JSON.stringify(c.values ?? []);
      const where = m.failure === 'SEGMENT_FAILED' ? `segment ${m.segmentId}: ` : '';
      const seen = c.contextValue === undefined ? 'missing' : JSON.stringify(c.contextValue);
      if (c.unusable !== undefined) return `${head}${where}${c.contextName}: ${c.unusable}, so it never holds (even inverted)`;
      return `${head}${where}${c.contextName} ${c.inverted ? 'NOT ' : ''}${c.operator} ${wanted} failed (context value: ${seen})`;
    }
    case 'STRATEGY_DECLINED': {
      const r = m.rollout;
      if (r === undefined) return `${head}declined`;
      return r.bucket === undefined
        ? `${head}rollout ${r.threshold}% by ${r.stickiness}: the context has no ${r.stickiness}`
        : `${head}rollout ${r.threshold}% by ${r.stickiness}: bucket ${r.bucket} > ${r.threshold}`;
    }
    case 'STRATEGY_ERROR':
      return `${head}custom strategy failed: ${m.message} (off)`;
  }
}

/** The human-readable lines of one evaluation's reason. */
export function describeExplanation(e: EvaluationResult): string[] {
  const r = e.reason;
  switch (r.kind) {
    case 'FLAG_NOT_FOUND':
      return ['the flag is not in the flags'];
    case 'DISABLED':
      return ['the flag is disabled'];
    case 'DEPENDENCY_FAILED':
      return [`dependency on "${r.parent}" failed: ${r.why}`];
    case 'NO_STRATEGIES':
      return ['enabled, with no strategies: on for everyone'];
    case 'ERROR':
      return [`evaluation failed: ${r.message}`];
    case 'STRATEGY_MATCH': {
      const rollout = r.rollout?.bucket !== undefined ? ` (rollout ${r.rollout.threshold}% by ${r.rollout.stickiness}: bucket ${r.rollout.bucket} <= ${r.rollout.threshold})` : '';
      const variant = r.variantFrom === 'none' ? '' : `; variant from the ${r.variantFrom} variants`;
      return [`strategy #${r.index} ${r.name} matched${rollout}${variant}`];
    }
    case 'NO_STRATEGY_MATCHED':
      return ['no strategy matched:', ...r.strategies.map((m) => `  ${describeMiss(m)}`)];
  }
}

async function runEval(args: Args, io: CliIo): Promise<number> {
  const file = one(args, '--features');
  const url = one(args, '--url');
  if ((file === undefined) === (url === undefined)) throw new CliError('eval needs exactly one of --features FILE or --url URL');
  const raw = file !== undefined ? await readJsonFile(file) : await fetchFlags(url!, args, io);
  let payload;
  try {
    payload = parseClientPayload(raw).payload;
  } catch (err) {
    if (err instanceof PayloadError) throw new CliError(`${file ?? redactUrl(url!)}: ${err.message}`);
    throw err;
  }
  const warnings: string[] = [];
  const engine = new Engine({ onWarning: (message) => warnings.push(message) });
  const snapshot = engine.load(payload);
  const context = buildContext(one(args, '--context'), args.positional);
  const names = args.flags.get('--flag') ?? snapshot.names();
  const results = names.map((name) => evaluateIn(snapshot, name, context));
  // A name that is not in the flags is a mistake (a typo, the wrong environment), not an answer.
  const missing = results.filter((e) => e.reason.kind === 'FLAG_NOT_FOUND').map((e) => e.flag);
  for (const name of missing) io.stderr(`switchyard: flag "${name.slice(0, 100)}" is not in the flags (${plural(snapshot.size, 'flag')} loaded)\n`);
  if (args.switches.has('--json')) {
    io.stdout(`${JSON.stringify({ context, results: results.map((e) => (args.switches.has('--explain') ? e : { flag: e.flag, enabled: e.enabled, variant: e.variant })), warnings }, null, 2)}\n`);
    return missing.length > 0 ? 1 : 0;
  }
  // A loop, not Math.max(...): a file of 200,000 flags would overflow the call's arguments.
  let width = 4;
  for (const e of results) width = Math.max(width, e.flag.length);
  for (const e of results) {
    const payloadText = e.variant.payload === undefined ? '' : ` (${e.variant.payload.type} ${JSON.stringify(e.variant.payload.value)})`;
    const variant = e.variant.name === 'disabled' ? '' : `  variant ${e.variant.name}${payloadText}`;
    const answer = e.reason.kind === 'FLAG_NOT_FOUND' ? 'NOT FOUND' : e.enabled ? 'ON ' : 'OFF';
    io.stdout(`${`${e.flag.padEnd(width)}  ${answer}${variant}`.trimEnd()}\n`);
    if (args.switches.has('--explain')) for (const line of describeExplanation(e)) io.stdout(`${' '.repeat(width + 2)}${line}\n`);
  }
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  return missing.length > 0 ? 1 : 0;
}

/** `1 flag`, `2 flags`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

async function runLint(args: Args, io: CliIo): Promise<number> {
  const [file, ...rest] = args.positional;
  if (file === undefined || rest.length > 0) throw new CliError('lint takes one FILE');
  const report = lintPayload(await readJsonFile(file), { strategies: args.flags.get('--strategy') ?? [] });
  if (args.switches.has('--json')) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const e of report.errors) io.stdout(`error    ${e.path}: ${e.message}\n`);
    for (const w of report.warnings) io.stdout(`warning  ${w.path}: ${w.message}\n`);
    io.stdout(`${file}: ${plural(report.flags, 'flag')}, ${plural(report.segments, 'segment')}, ${plural(report.errors.length, 'error')}, ${plural(report.warnings.length, 'warning')}\n`);
  }
  return report.errors.length > 0 ? 1 : 0;
}

/** Runs the CLI; resolves with the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const args = parseArgs(argv);
    if (args.switches.has('--version')) {
      io.stdout(`${SDK_VERSION}\n`);
      return 0;
    }
    if (args.switches.has('--help') || args.switches.has('-h') || args.command === undefined) {
      io.stdout(`${USAGE}\n`);
      return args.command === undefined && !args.switches.has('--help') && !args.switches.has('-h') ? 2 : 0;
    }
    if (args.command === 'eval') return await runEval(args, io);
    if (args.command === 'lint') return await runLint(args, io);
    throw new CliError(`unknown command "${args.command}" (see switchyard --help)`);
  } catch (err) {
    const message = err instanceof CliError ? err.message : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
    if (json) io.stdout(`${JSON.stringify({ error: message })}\n`);
    io.stderr(`switchyard: ${message}\n`);
    return 2;
  }
}
