/**
 * The official Unleash client specification, every file and every case, as generated
 * tests named by each case's description.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MemoryCache } from '../cache/memory-cache';
import { UnleashClient } from '../lib/client';
import { Engine } from '../lib/engine';
import { parseClientPayload } from '../lib/payload';
import type { Context, Variant } from '../lib/types';
import { ManualScheduler } from './support/manual-scheduler';
import { StreamServer } from './support/stream-server';

interface Case {
  description: string;
  context: Context;
  toggleName: string;
}
interface Spec {
  name: string;
  state: unknown;
  tests?: (Case & { expectedResult: boolean })[];
  variantTests?: (Case & { expectedResult: Variant })[];
}

const require = createRequire(import.meta.url);
const dir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
const files = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as string[];

test('the specification package holds all 22 files', () => {
  expect(files).toHaveLength(22);
});

describe.each(files)('%s', (file) => {
  const spec = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Spec;
  const engine = new Engine({ hostname: 'spec-host' });
  engine.load(parseClientPayload(spec.state).payload);
  const snapshot = engine.snapshot;

  const tests = spec.tests ?? [];
  const variantTests = spec.variantTests ?? [];
  test('has cases', () => {
    expect(tests.length + variantTests.length).toBeGreaterThan(0);
  });

  if (tests.length > 0) {
    test.each(tests.map((t) => [t.description, t] as const))('%s', (_description, t) => {
      const flag = snapshot.get(t.toggleName);
      expect(flag ? flag.isEnabled(t.context) : false).toBe(t.expectedResult);
    });
  }
  if (variantTests.length > 0) {
    test.each(variantTests.map((t) => [t.description, t] as const))('%s', (_description, t) => {
      const flag = snapshot.get(t.toggleName);
      const variant = flag ? flag.getVariant(t.context) : { name: 'disabled', enabled: false, feature_enabled: false };
      expect(variant).toEqual(t.expectedResult);
    });
  }
});

/**
 * The same files through the public client, as a user loads them: the state goes into a
 * cache with `bootstrapFromDict` (delta bodies included: files 19 and 20), and an offline
 * client answers. Contexts carry the client's appName and environment defaults, which no
 * specification case reads.
 */
describe.each(files)('%s through the client', (file) => {
  const spec = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Spec;
  let client: UnleashClient;
  beforeAll(async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(spec.state);
    // Warnings are expected (the specification has unknown operators on purpose); errors are not.
    client = new UnleashClient({ appName: 'spec-app', offline: true, cache, disableMetrics: true, eventCallback: (e) => void (e.type === 'error' && errors.push(e.error)) });
    await client.start();
    expect(client.hasFlags).toBe(true);
  });
  const errors: Error[] = [];
  // After each case, not once at the end: an error then fails the case that caused it
  // (a failing afterAll only marks the file, which mutation testing cannot count as a kill).
  afterEach(() => expect(errors.splice(0)).toEqual([]));
  afterAll(() => client?.destroy());

  const cases = [...(spec.tests ?? []).map((t) => ({ ...t, kind: 'isEnabled' as const })), ...(spec.variantTests ?? []).map((t) => ({ ...t, kind: 'getVariant' as const }))];
  test.each(cases.map((t) => [t.description, t] as const))('%s', (_description, t) => {
    if (t.kind === 'isEnabled') expect(client.isEnabled(t.toggleName, t.context)).toBe(t.expectedResult);
    else expect(client.getVariant(t.toggleName, t.context)).toEqual(t.expectedResult);
    expect(client.evaluate(t.toggleName, t.context).enabled).toBe(client.isEnabled(t.toggleName, t.context));
  });
});

/**
 * The delta files (19 and 20) as a server sends them: the state is the body of the
 * client's first `/client/delta` answer (delta mode) and the data of its first
 * `unleash-connected` message (streaming mode), served by the loopback stub of the
 * Enterprise endpoints.
 */
describe.each(files.filter((f) => /^(19|20)-/.test(f)).flatMap((f) => [[f, 'delta'] as const, [f, 'streaming'] as const]))('%s through the client in %s mode', (file, mode) => {
  const spec = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Spec;
  let server: StreamServer;
  let client: UnleashClient;
  const errors: Error[] = [];
  beforeAll(async () => {
    server = await StreamServer.start();
    server.reply(mode === 'delta' ? '/api/client/delta' : '/api/client/streaming', { body: spec.state });
    client = new UnleashClient({
      url: server.url,
      appName: 'spec-app',
      mode,
      cache: new MemoryCache(),
      disableMetrics: true,
      disableRegistration: true,
      // A manual scheduler that nobody advances: no poll or reconnect follows the first answer.
      scheduler: new ManualScheduler(),
      eventCallback: (e) => void (e.type === 'error' && errors.push(e.error)),
    });
    await client.start();
    expect(client.hasFlags).toBe(true);
    expect(client.status().mode).toBe(mode);
  });
  afterAll(async () => {
    await client?.destroy();
    await server?.close();
    expect(errors).toEqual([]);
  });

  const cases = [...(spec.tests ?? []).map((t) => ({ ...t, kind: 'isEnabled' as const })), ...(spec.variantTests ?? []).map((t) => ({ ...t, kind: 'getVariant' as const }))];
  test.each(cases.map((t) => [t.description, t] as const))('%s', (_description, t) => {
    if (t.kind === 'isEnabled') expect(client.isEnabled(t.toggleName, t.context)).toBe(t.expectedResult);
    else expect(client.getVariant(t.toggleName, t.context)).toEqual(t.expectedResult);
  });
});
