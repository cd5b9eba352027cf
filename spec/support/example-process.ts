/**
 * Runs an example script (examples/**.mjs) as a child process, the way a user runs it,
 * against the built package in dist/. Tests read its stdout line by line and wait for
 * lines rather than for time: `waitForLine` resolves as soon as the line is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A guard against a test hanging forever when an expected line never comes. It is not a
 * timing assertion: healthy runs print the line within a second or two.
 */
const DEFAULT_WAIT = 15_000;

/** Fails fast with the fix when dist/ was not built (`npm test` builds it in pretest). */
export function requireDist(): void {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it in pretest)');
  }
}

export class ExampleProcess {
  /** Resolves once the process has exited. */
  readonly exited: Promise<Exit>;
  private out = '';
  private err = '';
  private exit: Exit | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.out += chunk;
      this.changed();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.err += chunk;
      this.changed();
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.changed();
        resolve(this.exit);
      });
    });
  }

  /** Everything printed to stdout so far. */
  get stdout(): string {
    return this.out;
  }

  /** Everything printed to stderr so far. */
  get stderr(): string {
    return this.err;
  }

  /** Complete stdout lines printed so far. */
  get lines(): string[] {
    const lines = this.out.split('\n');
    lines.pop(); // the part after the last newline is not a complete line yet
    return lines;
  }

  /**
   * Resolves with the match of the first complete stdout line matching `pattern` (at index
   * `from` or later); rejects, showing the output, if the process exits first.
   */
  waitForLine(pattern: RegExp, from = 0, timeout = DEFAULT_WAIT): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const lines = this.lines;
        for (let i = from; i < lines.length; i++) {
          const match = pattern.exec(lines[i]!);
          if (match) {
            done();
            resolve(match);
            return true;
          }
        }
        if (this.exit !== undefined) {
          done();
          reject(new Error(`the example exited (${this.describeExit()}) before printing ${pattern}\n${this.transcript()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no line matching ${pattern} within ${timeout} ms\n${this.transcript()}`));
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => void check();
      if (!check()) this.listeners.add(listener);
    });
  }

  /** The index the next stdout line will have: pass it to `waitForLine` to skip older lines. */
  get nextLine(): number {
    return this.lines.length;
  }

  /** Sends `signal` and resolves with how the process exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.exit === undefined) this.child.kill(signal);
    return this.exited;
  }

  /** Kills the process if it is still running (test clean-up). */
  async kill(): Promise<void> {
    if (this.exit === undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** stdout and stderr, for failure messages. */
  transcript(): string {
    return `--- stdout ---\n${this.out}--- stderr ---\n${this.err}`;
  }

  private describeExit(): string {
    return this.exit?.signal ? `signal ${this.exit.signal}` : `code ${this.exit?.code}`;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * Starts `node <script>` from the repository root. `env` is added to the test's
 * environment; an `undefined` value removes that variable.
 */
export function startExample(script: string, env: Record<string, string | undefined> = {}): ExampleProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [join(root, script)], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ExampleProcess(child);
}

/** Runs a script to its end and returns its exit and output. */
export async function runExample(script: string, env: Record<string, string | undefined> = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const example = startExample(script, env);
  const exit = await example.exited;
  return { ...exit, stdout: example.stdout, stderr: example.stderr };
}
