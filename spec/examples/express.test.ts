/**
 * examples/express: the service runs as a child process on a free port, its client polling
 * a loopback Unleash stand-in. Real requests with different users, cookies and
 * X-Forwarded-For headers must get the page the engine computes for that context; SIGTERM
 * must end it with code 0 after `destroy()` sent the metrics of the pages served.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type Snapshot } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';
import type { Context } from '../../lib/types';
import { requireDist, root, startExample, type ExampleProcess } from '../support/example-process';
import { TestServer } from '../support/test-server';

const TOKEN = 'default:development.express-example-token';
const flagsBody: unknown = JSON.parse(readFileSync(join(root, 'examples', 'express', 'flags.json'), 'utf8'));

/** What a page showed, read from its markup. */
interface Page {
  status: number;
  cookie: string | null;
  dashboard: string;
  banner: boolean;
  variant: string;
  label: string;
  context: { userId: string; sessionId: string; remoteAddress: string };
}

let server: TestServer;
let example: ExampleProcess;
let base: string;
let cacheDir: string;
let snapshot: Snapshot;
let pagesServed = 0;

async function page(user?: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await fetch(`${base}/${user === undefined ? '' : `?user=${encodeURIComponent(user)}`}`, { headers });
  const html = await res.text();
  if (res.status === 200) pagesServed++;
  const field = (pattern: RegExp): string => {
    const match = pattern.exec(html);
    if (!match) throw new Error(`${pattern} not found in the page:\n${html}`);
    return match[1]!;
  };
  const footer = field(/<footer>context: (.*)<\/footer>/);
  const context = Object.fromEntries(footer.split(' ').map((pair) => pair.split('='))) as Page['context'];
  return {
    status: res.status,
    cookie: res.headers.get('set-cookie'),
    dashboard: field(/data-dashboard="([^"]*)"/),
    banner: html.includes('class="banner"'),
    variant: field(/<button data-variant="([^"]*)">/),
    label: field(/<button data-variant="[^"]*">([^<]*)<\/button>/),
    context,
  };
}

/** What the engine says the page must show for a context. */
function expected(context: Context): Pick<Page, 'dashboard' | 'banner' | 'variant'> {
  const variant = snapshot.get('checkout-button')!.getVariant(context);
  return {
    dashboard: snapshot.get('beta-dashboard')!.isEnabled(context) ? 'beta' : 'classic',
    banner: snapshot.get('office-banner')!.isEnabled(context),
    variant: variant.enabled ? variant.name : 'none',
  };
}

function contextOf(p: Page): Context {
  return {
    userId: p.context.userId === '-' ? undefined : p.context.userId,
    sessionId: p.context.sessionId,
    remoteAddress: p.context.remoteAddress,
  };
}

describe('examples/express', () => {
  beforeAll(async () => {
    requireDist();
    const { payload } = parseClientPayload(flagsBody);
    snapshot = new Engine().load(payload);
    server = await TestServer.start();
    server.serveFeatures(flagsBody, '"express:1"');
    // The client's default FileCache lives in the OS temp directory: keep it out of /tmp.
    cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-express-'));
    example = startExample('examples/express/server.mjs', {
      PORT: '0',
      HOST: '127.0.0.1',
      UNLEASH_URL: server.url,
      UNLEASH_API_TOKEN: TOKEN,
      TMPDIR: cacheDir,
    });
    const [, address] = await example.waitForLine(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/);
    base = address!;
  }, 30_000);

  afterAll(async () => {
    await example?.kill();
    await server?.close();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  test('it fetched the flags with the token before listening', () => {
    const fetches = server.requestsTo('/api/client/features', 'GET');
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(fetches[0]!.headers.authorization).toBe(TOKEN);
    expect(fetches[0]!.headers['unleash-appname']).toBe('switchyard-express-example');
  });

  test('the context comes from the request: user, session cookie and the address through the proxy', async () => {
    const viaOffice = await page('ada', { 'X-Forwarded-For': '10.1.2.3' });
    expect(viaOffice.status).toBe(200);
    expect(viaOffice.context.userId).toBe('ada');
    expect(viaOffice.context.remoteAddress).toBe('10.1.2.3');
    expect(viaOffice.cookie).toMatch(/^sid=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(viaOffice.context.sessionId).toBe(/^sid=([^;]+)/.exec(viaOffice.cookie!)![1]);
    expect(viaOffice).toMatchObject({ dashboard: 'beta', banner: true });

    // Straight from the socket: no office banner, and a user not in the beta.
    const direct = await page('bo');
    expect(direct.context).toMatchObject({ userId: 'bo', remoteAddress: '127.0.0.1' });
    expect(direct).toMatchObject({ dashboard: 'classic', banner: false });

    // Only the entry the proxy appended counts: a client cannot claim an office address.
    const spoofed = await page('bo', { 'X-Forwarded-For': '10.9.9.9, 203.0.113.5' });
    expect(spoofed.context.remoteAddress).toBe('203.0.113.5');
    expect(spoofed.banner).toBe(false);

    for (const p of [viaOffice, direct, spoofed]) expect(p).toMatchObject(expected(contextOf(p)));
  });

  test('the page differs by variant, sticky per user and, for visitors, per session', async () => {
    const seen = new Map<string, string>();
    for (const user of ['ada', 'bo', 'cy', 'dan', 'eli', 'fay', 'gus', 'hal']) {
      const p = await page(user);
      expect(p).toMatchObject(expected(contextOf(p)));
      expect(p.label).toBe(p.variant === 'green' ? 'Buy now' : 'Go to checkout');
      seen.set(p.variant, user);
      // The same user in another session keeps the variant.
      expect((await page(user)).variant).toBe(p.variant);
    }
    expect([...seen.keys()].sort()).toEqual(['blue', 'green']);

    // A visitor without a cookie gets a session; sent back, it keeps the visitor's variant.
    const first = await page();
    expect(first.context.userId).toBe('-');
    expect(first.cookie).not.toBeNull();
    const cookie = first.cookie!.split(';')[0]!;
    const again = await page(undefined, { Cookie: cookie });
    expect(again.cookie).toBeNull();
    expect(again.context.sessionId).toBe(first.context.sessionId);
    expect(again.variant).toBe(first.variant);
    expect(first).toMatchObject(expected(contextOf(first)));

    // A cookie that is not a session id is replaced, not evaluated.
    const bogus = await page(undefined, { Cookie: 'sid=<script>' });
    expect(bogus.cookie).toMatch(/^sid=[0-9a-f-]{36};/);
    expect(bogus.context.sessionId).not.toBe('<script>');
  });

  test('user input is escaped in the page', async () => {
    const res = await fetch(`${base}/?user=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    pagesServed++;
    const html = await res.text();
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });

  test('other paths are 404 and evaluate nothing', async () => {
    const res = await fetch(`${base}/favicon.ico`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  test('SIGTERM: the server closes, destroy() sends the metrics of every page, and it exits 0', async () => {
    // Metrics are reported every 60 s by default: none was sent yet.
    expect(server.requestsTo('/api/client/metrics', 'POST')).toHaveLength(0);
    const from = example.nextLine;
    const exit = await example.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(example.lines.slice(from)).toEqual(['SIGTERM received: shutting down', 'stopped']);
    expect(example.stderr).toBe('');

    const reports = server.requestsTo('/api/client/metrics', 'POST');
    expect(reports).toHaveLength(1);
    const { bucket } = reports[0]!.json() as {
      bucket: { toggles: Record<string, { yes: number; no: number; variants: Record<string, number> }> };
    };
    expect(pagesServed).toBeGreaterThan(10);
    // Every page evaluated each flag once.
    for (const flag of ['beta-dashboard', 'office-banner', 'checkout-button']) {
      expect(bucket.toggles[flag]!.yes + bucket.toggles[flag]!.no).toBe(pagesServed);
    }
    const variants = bucket.toggles['checkout-button']!.variants;
    expect((variants.green ?? 0) + (variants.blue ?? 0)).toBe(pagesServed);
    expect(variants.green).toBeGreaterThan(0);
    expect(variants.blue).toBeGreaterThan(0);
  });
});
