/**
 * Trial finding (a strict-TypeScript user of the new `mode` event). The test states the
 * EXPECTED behaviour in its name and fails on the code as merged.
 *
 * README, "Events": the `mode` event's `mode` is `'polling'`, `'delta'` or `'streaming'`
 * (the exported `FetchMode`), and the client only ever emits those three. `ModeEvent.mode`
 * and `.previous` are typed `UpdateMode`, which adds `'offline'` (a value only
 * `status().mode` can take), so an exhaustive switch or an assignment to `FetchMode` fails to
 * compile in strict TypeScript.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { root } from '../support/example-process';

function diagnosticsOf(code: string): string[] {
  const file = join(root, 'spec', 'lib', '__trial_mode_event__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? code : readFile.call(host, name));
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, code, language, true) : getSourceFile.call(host, name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('EXPECTED: a `mode` event listener can treat event.mode and event.previous as FetchMode (the three modes the README lists)', () => {
  const problems = diagnosticsOf(`
import { UnleashClient, type FetchMode } from '../../lib/index';
declare const client: UnleashClient;
client.on('mode', (event) => {
  const now: FetchMode = event.mode;
  const before: FetchMode | undefined = event.previous;
  console.log(now, before);
});
`);
  // As merged: "Type 'UpdateMode' is not assignable to type 'FetchMode'" (twice).
  expect(problems).toEqual([]);
});
