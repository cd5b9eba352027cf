/**
 * Every ```ts (and ```js) block of README.md runs as written. Each one is
 *
 * 1. type-checked with the TypeScript compiler API against the package's public entry
 *    points (`switchyard-flags`, `/engine`, `/openfeature`, `/redis` mapped to their sources), strict,
 *    with `noUncheckedIndexedAccess`, as an ES module (top-level await allowed); a Promise
 *    left neither awaited nor handled counts as an error too, since it crashes the reader's
 *    process the day it rejects;
 * 2. run: transpiled on its own, its package imports pointed at the built dist/, in a child
 *    `node` process after `prelude.ts`, which declares and defines the placeholders snippets
 *    use (`url`, `appName`, `token`, `client`, ...). The run must exit 0, within a time
 *    limit, and print nothing to stderr: an unhandled rejection, a thrown error or an error
 *    event nobody listened to all fail it.
 *
 * The placeholder `url` is an HTTPS server on 127.0.0.1. Public host names in snippets
 * (unleash.example.com, cdn.example.com) reach the same server through a loopback proxy
 * (`HTTPS_PROXY`) that routes them there, with a certificate for those names that the child
 * trusts through `NODE_EXTRA_CA_CERTS`; the prelude refuses any other address.
 *
 * A snippet that cannot run here is marked `<!-- snippet: typecheck-only (reason) -->` on
 * the line before its fence: it is still type-checked, and listed in the output.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { requireDist, root } from '../support/example-process';
import { ForwardProxy } from '../support/forward-proxy';
import { selfSignedCertificate } from '../support/self-signed';
import { TestServer } from '../support/test-server';

interface Snippet {
  /** The README line of the opening fence (1-based). */
  line: number;
  lang: 'ts' | 'js';
  code: string;
  /** Why it is only type-checked; undefined when it runs too. */
  typecheckOnly: string | undefined;
  /** Where the type-check sees it (a file that exists only in memory). */
  fileName: string;
}

const MARKER = /^<!-- snippet: typecheck-only \((.+)\) -->$/;
const LANGS: Record<string, Snippet['lang']> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

/** The ts/js blocks of `markdown`; throws on a marker that is malformed or not before such a block. */
function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  const markersUsed = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const end = lines.findIndex((text, j) => j > i && text.trimEnd() === fence);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never closes`);
    const lang = LANGS[open[2]!.toLowerCase()];
    if (lang !== undefined) {
      const marker = MARKER.exec(lines[i - 1] ?? '');
      if (marker !== null) markersUsed.add(i - 1);
      snippets.push({
        line: i + 1,
        lang,
        code: lines.slice(i + 1, end).join('\n') + '\n',
        typecheckOnly: marker?.[1],
        fileName: join(root, 'spec', 'readme', `readme-line-${i + 1}.${lang}`),
      });
    }
    i = end;
  }
  lines.forEach((text, i) => {
    if (text.includes('<!-- snippet:') && !markersUsed.has(i)) {
      throw new Error(`README.md:${i + 1}: a snippet marker must read "<!-- snippet: typecheck-only (reason) -->" and sit on the line before a ts or js block`);
    }
  });
  return snippets;
}

const entryPoints = {
  'switchyard-flags': { source: 'lib/index.ts', built: 'dist/index.js' },
  'switchyard-flags/engine': { source: 'lib/engine/index.ts', built: 'dist/engine.js' },
  'switchyard-flags/openfeature': { source: 'lib/openfeature.ts', built: 'dist/openfeature.js' },
  'switchyard-flags/opentelemetry': { source: 'lib/opentelemetry.ts', built: 'dist/opentelemetry.js' },
  'switchyard-flags/redis': { source: 'redis/index.ts', built: 'dist/redis.js' },
};

const preludeFile = join(root, 'spec', 'readme', 'prelude.ts');

const compilerOptions: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  // A snippet is an ES module even without an import, so top-level await is allowed.
  moduleDetection: ts.ModuleDetectionKind.Force,
  // Each snippet is transpiled alone for its run: refuse what that cannot do.
  isolatedModules: true,
  allowJs: true,
  checkJs: true,
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  skipLibCheck: true,
  noEmit: true,
  paths: Object.fromEntries(Object.entries(entryPoints).map(([name, { source }]) => [name, [join(root, source)]])),
};

/** Expression statements whose value is a Promise nobody awaits or handles. */
function droppedPromises(file: ts.SourceFile, checker: ts.TypeChecker): ts.ExpressionStatement[] {
  const thenable = (type: ts.Type): boolean =>
    type.isUnion() ? type.types.some(thenable) : checker.getPropertyOfType(checker.getApparentType(type), 'then') !== undefined;
  const handled = (expression: ts.Expression): boolean =>
    ts.isCallExpression(expression) &&
    ts.isPropertyAccessExpression(expression.expression) &&
    (expression.expression.name.text === 'catch' || (expression.expression.name.text === 'then' && expression.arguments.length === 2));
  const found: ts.ExpressionStatement[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node) && thenable(checker.getTypeAtLocation(node.expression)) && !handled(node.expression)) found.push(node);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Type-checks the prelude and every snippet in one program; the problems of each file, as README-located lines. */
function typeCheck(snippets: readonly Snippet[]): Map<string, string[]> {
  const inMemory = new Map(snippets.map((s) => [s.fileName, s.code]));
  const host = ts.createCompilerHost(compilerOptions, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => inMemory.has(name) || fileExists.call(host, name);
  host.readFile = (name) => inMemory.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const text = inMemory.get(name);
    return text === undefined ? getSourceFile.call(host, name, language, ...rest) : ts.createSourceFile(name, text, language, true);
  };
  const program = ts.createProgram([preludeFile, ...inMemory.keys()], compilerOptions, host);
  const checker = program.getTypeChecker();
  const problems = new Map<string, string[]>();
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (global.length > 0) throw new Error(ts.formatDiagnostics(global, host));
  for (const name of [preludeFile, ...inMemory.keys()]) {
    const file = program.getSourceFile(name)!;
    const snippet = snippets.find((s) => s.fileName === name);
    const where = (position: number): string => {
      const line = file.getLineAndCharacterOfPosition(position).line;
      return snippet === undefined ? `spec/readme/prelude.ts:${line + 1}` : `README.md:${snippet.line + 1 + line}`;
    };
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    problems.set(name, [
      ...diagnostics.map((d) => `${where(d.start ?? 0)}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
      ...droppedPromises(file, checker).map(
        (s) => `${where(s.getStart())}: a Promise is neither awaited nor handled: ${s.getText().trim()}`,
      ),
    ]);
  }
  return problems;
}

/** The package's import specifiers pointed at dist/; the rest of the code untouched. */
function transpile(code: string, fileName: string): string {
  const built = new Map(Object.entries(entryPoints).map(([name, { built }]) => [name, pathToFileURL(join(root, built)).href]));
  const target = (specifier: ts.Expression | undefined): string | undefined =>
    specifier !== undefined && ts.isStringLiteral(specifier) ? built.get(specifier.text) : undefined;
  const rewriteImports: ts.TransformerFactory<ts.SourceFile> = (context) => (file) => {
    const { factory } = context;
    const visit = (node: ts.Node): ts.Node => {
      if (ts.isImportDeclaration(node) && target(node.moduleSpecifier) !== undefined) {
        return factory.updateImportDeclaration(node, node.modifiers, node.importClause, factory.createStringLiteral(target(node.moduleSpecifier)!), node.attributes);
      }
      if (ts.isExportDeclaration(node) && target(node.moduleSpecifier) !== undefined) {
        return factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, factory.createStringLiteral(target(node.moduleSpecifier)!), node.attributes);
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && target(node.arguments[0]) !== undefined) {
        return factory.updateCallExpression(node, node.expression, node.typeArguments, [factory.createStringLiteral(target(node.arguments[0])!), ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(file, visit) as ts.SourceFile;
  };
  const output = ts.transpileModule(code, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, moduleDetection: ts.ModuleDetectionKind.Force },
    transformers: { after: [rewriteImports] },
    reportDiagnostics: true,
  });
  if (output.diagnostics?.length) throw new Error(ts.formatDiagnostics(output.diagnostics, ts.createCompilerHost({})));
  return output.outputText;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A healthy snippet ends in about a second; this only bounds one that never ends. */
const RUN_LIMIT = 20_000;

function run(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_LIMIT);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const snippets = extractSnippets(readme);
const typecheckOnly = snippets.filter((s) => s.typecheckOnly !== undefined);
/** The example hosts the running snippets name, such as unleash.example.com: routed to the test's server. */
const publicHosts = [
  ...new Set(snippets.filter((s) => s.typecheckOnly === undefined).flatMap((s) => [...s.code.matchAll(/https:\/\/([a-z0-9.-]+\.example\.com)\b/g)].map((m) => m[1]!))),
];
const body = JSON.parse(readFileSync(join(root, 'examples', 'flags.json'), 'utf8')) as unknown;
const TOKEN = 'default:development.readme-snippets';

let problems: Map<string, string[]>;
let server: TestServer;
let proxy: ForwardProxy;
let workdir: string;

beforeAll(async () => {
  requireDist();
  problems = typeCheck(snippets);
  const certificate = selfSignedCertificate('switchyard README snippets', ['localhost', ...publicHosts]);
  server = await TestServer.start({ tls: certificate });
  server.serveFeatures(body);
  server.setDefault('GET', '/flags.json', { body });
  // Usage metrics and registration are accepted, as Unleash does (202), so a snippet that
  // flushes metrics or destroys a client reports no error.
  server.setDefault('POST', '/api/client/metrics', { status: 202 });
  server.setDefault('POST', '/api/client/register', { status: 202 });
  const loopback = new URL(server.origin).host;
  proxy = await ForwardProxy.start({ routes: Object.fromEntries(publicHosts.map((host) => [`${host}:443`, loopback])) });
  mkdirSync(join(root, '.tmp'), { recursive: true });
  // Inside the repository, so that the snippets' other imports (@openfeature/server-sdk) resolve.
  workdir = mkdtempSync(join(root, '.tmp', 'readme-snippets-'));
  writeFileSync(join(workdir, 'certificate.pem'), certificate.cert);
  writeFileSync(join(workdir, 'prelude.mjs'), transpile(readFileSync(preludeFile, 'utf8'), preludeFile));
  if (typecheckOnly.length > 0) {
    console.info(`README snippets that are only type-checked:\n${typecheckOnly.map((s) => `  README.md:${s.line}: ${s.typecheckOnly}`).join('\n')}`);
  }
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await server?.close();
  if (workdir !== undefined) rmSync(workdir, { recursive: true, force: true });
});

describe('README.md', () => {
  test('has ts snippets, most of them run', () => {
    expect(snippets.length).toBeGreaterThan(5);
    expect(typecheckOnly.length).toBeLessThan(snippets.length / 2);
  });

  test('the snippet prelude type-checks', () => {
    expect(problems.get(preludeFile)).toEqual([]);
  });

  describe.each(snippets)('the $lang snippet at line $line', (snippet) => {
    test('type-checks', () => {
      expect(problems.get(snippet.fileName)).toEqual([]);
    });

    const runs = snippet.typecheckOnly === undefined ? test : test.skip;
    runs(
      snippet.typecheckOnly === undefined ? 'runs' : `runs (skipped: typecheck-only, ${snippet.typecheckOnly})`,
      async () => {
        const dir = join(workdir, `line-${snippet.line}`);
        mkdirSync(join(dir, 'tmp'), { recursive: true });
        writeFileSync(join(dir, 'flags.json'), JSON.stringify(body));
        writeFileSync(join(dir, 'snippet.mjs'), transpile(snippet.code, snippet.fileName));
        writeFileSync(
          join(dir, 'run.mjs'),
          [
            `const { finish } = await import(${JSON.stringify(pathToFileURL(join(workdir, 'prelude.mjs')).href)});`,
            `await import('./snippet.mjs');`,
            `await finish();`,
            '',
          ].join('\n'),
        );
        const env: NodeJS.ProcessEnv = { ...process.env };
        for (const name of ['http_proxy', 'https_proxy', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NODE_OPTIONS']) delete env[name];
        Object.assign(env, {
          README_SNIPPET_URL: server.url,
          UNLEASH_TOKEN: TOKEN,
          HTTP_PROXY: proxy.url,
          HTTPS_PROXY: proxy.url,
          NO_PROXY: '127.0.0.1,localhost',
          NODE_EXTRA_CA_CERTS: join(workdir, 'certificate.pem'),
          TMPDIR: join(dir, 'tmp'),
        });
        const result = await run(join(dir, 'run.mjs'), dir, env);
        if (result.code !== 0 || result.timedOut || result.stderr !== '') {
          const end = result.timedOut ? `had not ended after ${RUN_LIMIT} ms` : `exited with code ${result.code}`;
          throw new Error(`README.md:${snippet.line} ${end}${result.stderr === '' ? '' : ' and wrote to stderr'}\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`);
        }
      },
      RUN_LIMIT + 10_000,
    );
  });

  test('the public hosts the running snippets name were reached, through the proxy, and nothing else', () => {
    expect(proxy.requests.filter((r) => !r.allowed)).toEqual([]);
    expect(new Set(proxy.requests.map((r) => r.line))).toEqual(new Set(publicHosts.map((host) => `CONNECT ${host}:443`)));
  });

  test('every `npm run X` and `npm test` it names is a script in package.json', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const named = new Set([...readme.matchAll(/\bnpm run(?:-script)? ([\w:-]+)/g)].map((m) => m[1]!));
    if (/\bnpm (?:test|t)\b/.test(readme)) named.add('test');
    expect(named.size).toBeGreaterThan(3);
    expect([...named].filter((name) => !scripts.includes(name))).toEqual([]);
  });
});
