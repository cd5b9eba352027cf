/**
 * A cache that survives restarts: the last good flags and their ETag live in one JSON file,
 * so a restarted service serves flags at once even while Unleash is unreachable.
 *
 * Safety rules, because this file is read at start-up, when a crash hurts most:
 * - Writes are atomic: a temp file in the same directory is written, fsynced and renamed
 *   over the target, so a crash mid-write leaves the old file or the new one, never half
 *   of one.
 * - Nothing here throws at the caller for I/O or bad data. A corrupt, foreign or
 *   unreadable file, or a failed write, is reported as a `CacheWarning` and the cache
 *   carries on in memory.
 * - A file this code cannot use heals: the next write replaces it. That covers a file
 *   that is not JSON, one of a newer format version, one nested too deeply to write back,
 *   and a foreign one (JSON without our marker). The path is the cache's own, so a foreign
 *   file there is a mistake or damage, but it may still be someone's data: it is copied
 *   aside (`<file>.foreign-<time>`, never replacing a file) before it is replaced.
 * - A temp file left by a writer that died mid-write is removed at the next start (see
 *   `isStaleTempFile`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { stringifyInSlices, yieldingControl } from '../lib/payload-slices';
import { decodePayloadText } from '../lib/payload';
import { BaseCache, CacheWarning, type CacheWarningCode } from './base-cache';

export { CacheWarning, type CacheWarningCode } from './base-cache';

/**
 * The marker that tells our cache files from any other JSON file.
 *
 * @group Caches & bootstrap
 */
export const FILE_CACHE_FORMAT = 'switchyard-cache';
/**
 * The document layout version this code reads and writes.
 *
 * @group Caches & bootstrap
 */
export const FILE_CACHE_VERSION = 1;

/**
 * Options for `FileCache`. Give `appName`, or `fileName`, or both.
 *
 * @group Caches & bootstrap
 */
export interface FileCacheOptions {
  /** Names the default file, `switchyard-<appName>.json` (made safe for a file name). */
  appName?: string;
  /** The directory of the cache file. Default: the OS temp directory. Created on first write. */
  directory?: string;
  /** A file name (no directory part) to use instead of the one derived from `appName`. */
  fileName?: string;
  /**
   * Receives each recovered problem: the first `onWarning` listener, subscribed at
   * construction. A handler that throws is ignored. While nothing listens (no handler, and
   * no client using this cache), problems go to `process.emitWarning`, so none is silent.
   */
  onWarning?: (warning: CacheWarning) => void;
}

/** The JSON document stored in the file. */
interface CacheDocument {
  format: typeof FILE_CACHE_FORMAT;
  version: number;
  savedAt: string;
  entries: Record<string, unknown>;
}

/** One stored value and its JSON text (in pieces, see `stringifyInSlices`), serialised once when it is set. */
interface Entry {
  value: unknown;
  json: readonly string[];
}

/**
 * Temp files older than this are removed whoever wrote them: no write takes this long. It
 * catches what the writer's pid cannot tell (a writer on another host, a reused pid).
 */
const STALE_TEMP_MS = 10 * 60 * 1000;

let hostTagMemo: string | undefined;

/** A short, file-name-safe tag of this host: a writer's pid means something only on its own host. */
function hostTag(): string {
  hostTagMemo ??= createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
  return hostTagMemo;
}

/**
 * The name of a write's temp file, beside the cache file: `.<file>.<pid>-<host tag>.<random>.tmp`.
 * The writer's pid and host let the next start tell a dead writer's left-over from a live
 * writer's file.
 * @internal
 */
export function tempFileName(path: string, pid: number = process.pid): string {
  return join(dirname(path), `.${basename(path)}.${pid}-${hostTag()}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Whether a temp file (`name` as `tempFileName` makes them, modified at `mtimeMs`) was
 * left by a writer that is gone, so it can be removed without breaking a live write:
 * - older than `STALE_TEMP_MS`, whoever wrote it;
 * - written on this host by a process that no longer runs;
 * - written with this process's own pid before this process started: a predecessor that
 *   had the same pid (in a container the service is often pid 1 on every start).
 * Anything else may be a write in progress (another process, another host, or another
 * cache instance in this process) and is kept until it is old. Removing a live writer's
 * file by mistake would cost that writer one failed write (its rename fails and it
 * reports `CACHE_WRITE_FAILED`), never a damaged cache file.
 * @internal
 */
export function isStaleTempFile(name: string, mtimeMs: number, now: number = Date.now()): boolean {
  if (now - mtimeMs > STALE_TEMP_MS) return true;
  const owner = /\.(\d+)-([0-9a-f]{8})\.[0-9a-f]+\.tmp$/.exec(name);
  if (owner === null || owner[2] !== hostTag()) return false;
  const pid = Number(owner[1]);
  if (pid === process.pid) return mtimeMs < now - process.uptime() * 1000;
  return pid > 0 && !isRunning(pid);
}

function isRunning(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without touching it.
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user. Only ESRCH says it is gone.
    return errorCode(err) !== 'ESRCH';
  }
}

/**
 * The default cache file name for an app. Characters outside `[A-Za-z0-9._-]` become
 * `_`; when the name had to change, a short hash of the original keeps two apps whose
 * names differ only in such characters from sharing a file.
 *
 * @group Caches & bootstrap
 */
export function cacheFileName(appName: string): string {
  const safe = appName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  const suffix = safe === appName ? '' : `-${createHash('sha256').update(appName).digest('hex').slice(0, 8)}`;
  return `switchyard-${safe}${suffix}.json`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.name : 'unknown error');
}

/**
 * A cache in one JSON file. This instance's memory is the source of truth once the file
 * has been read (lazily, on first use); every write replaces the whole document. So when
 * several processes share a file, the last writer wins with a consistent document (flags
 * and the ETag that belongs to them), never a mix of two.
 *
 * @group Caches & bootstrap
 */
export class FileCache extends BaseCache {
  /** The absolute or relative path of the cache file. */
  readonly path: string;
  private readonly entries = new Map<string, Entry>();
  private loading: Promise<void> | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  /** `mset` calls not yet on disk, so `destroy` can wait for writes asked for before it. */
  private readonly pending = new Set<Promise<void>>();
  /** The last `mset` taken in: values are taken in one call at a time, in call order. */
  private applied: Promise<void> = Promise.resolve();
  /** Writes run one at a time, in order; see `scheduleWrite`. */
  private queue: Promise<void> = Promise.resolve();
  private dirty = false;
  private foreign = false;
  private writeFailing = false;
  private destroyed = false;

  constructor(options: FileCacheOptions) {
    super();
    const { appName, fileName, directory, onWarning } = options ?? {};
    if (fileName !== undefined) {
      if (typeof fileName !== 'string' || fileName === '' || basename(fileName) !== fileName) {
        throw new TypeError('FileCache: "fileName" must be a plain file name without a directory part');
      }
    } else if (typeof appName !== 'string' || appName === '') {
      throw new TypeError('FileCache: "appName" must be a non-empty string (or give "fileName")');
    }
    if (directory !== undefined && (typeof directory !== 'string' || directory === '')) {
      throw new TypeError('FileCache: "directory" must be a non-empty string');
    }
    this.path = join(directory ?? tmpdir(), fileName ?? cacheFileName(appName as string));
    if (onWarning !== undefined) this.onWarning(onWarning);
  }

  /** Returns the stored value, or `undefined`. Reads the file on first use. */
  async get(key: string): Promise<unknown> {
    await this.load();
    return this.entries.get(key)?.value;
  }

  /**
   * Stores `value` (`undefined` removes the key) and writes the file. Resolves once the
   * file holds this value, or the failure was reported as a `CacheWarning`; never rejects.
   */
  async set(key: string, value: unknown): Promise<void> {
    await this.mset({ [key]: value });
  }

  /** Stores several values with one file write. Never rejects, like `set`. */
  override mset(values: Record<string, unknown>): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    // In call order: a large value is stringified in slices, and a later call must not
    // land before it.
    const operation = this.applied.then(() => this.apply(values)).finally(() => this.pending.delete(operation));
    this.applied = operation.catch(() => undefined);
    this.pending.add(operation);
    return operation;
  }

  /** Waits for pending writes; later writes are ignored. Idempotent; the file is kept. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await Promise.all([...this.pending, this.sweeping]);
  }

  private async apply(values: Record<string, unknown>): Promise<void> {
    await this.load();
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) {
        this.entries.delete(key);
        continue;
      }
      let json: string[] | undefined;
      try {
        // A 50,000-flag payload takes a few hundred milliseconds to stringify: in slices.
        json = await stringifyInSlices(value, yieldingControl());
      } catch (err) {
        this.warn('CACHE_WRITE_FAILED', `the value for "${key.slice(0, 60)}" is not JSON-serialisable; it was not stored`, err);
        continue;
      }
      if (json === undefined) {
        this.warn('CACHE_WRITE_FAILED', `the value for "${key.slice(0, 60)}" is not JSON-serialisable; it was not stored`);
        continue;
      }
      this.entries.set(key, { value, json });
    }
    await this.scheduleWrite();
  }

  private load(): Promise<void> {
    this.loading ??= this.readDocument().catch((err: unknown) => {
      // Whatever the file holds, it must not leave this instance rejecting every call for
      // its whole life: start empty, and let the next write replace the file.
      this.entries.clear();
      this.warn('CACHE_CORRUPT', `cache file ${this.path} cannot be used (${errorCode(err)}); it is ignored and will be replaced`);
    });
    return this.loading;
  }

  private async readDocument(): Promise<void> {
    this.sweeping = this.removeStaleTempFiles();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      // ENOTDIR: a parent of the path is a file, so there is no cache file either; the
      // first write will report that the location is unusable.
      if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR') {
        this.warn('CACHE_READ_FAILED', `cannot read cache file ${this.path} (${errorCode(err)}); starting without it`, err);
      }
      return;
    }
    let doc: unknown;
    try {
      // The same decoding as every payload: a byte-order mark an editor added is not corruption.
      doc = JSON.parse(decodePayloadText(text));
    } catch {
      // The parser's message quotes the file; only say what is wrong with it.
      this.warn('CACHE_CORRUPT', `cache file ${this.path} is not valid JSON; it is ignored and will be replaced`);
      return;
    }
    if (!isObject(doc) || doc.format !== FILE_CACHE_FORMAT) {
      this.foreign = true;
      this.warn(
        'CACHE_FOREIGN',
        `${this.path} is not a switchyard cache file; it is ignored and will be replaced by the next write, ` +
          `which first copies it to ${basename(this.path)}.foreign-<time> beside it`,
      );
      return;
    }
    if (doc.version !== FILE_CACHE_VERSION) {
      // Only a number or a string is shown: String() of a deeply nested array would recurse.
      const shown = typeof doc.version === 'number' || typeof doc.version === 'string' ? String(doc.version).slice(0, 20) : typeof doc.version;
      this.warn(
        'CACHE_VERSION_UNSUPPORTED',
        `cache file ${this.path} has format version ${shown}, this code reads ` +
          `${FILE_CACHE_VERSION}; it is ignored and will be replaced`,
      );
      return;
    }
    if (!isObject(doc.entries)) {
      this.warn('CACHE_CORRUPT', `cache file ${this.path} has no "entries" object; it is ignored and will be replaced`);
      return;
    }
    const entries = new Map<string, Entry>();
    try {
      for (const [key, value] of Object.entries(doc.entries)) entries.set(key, { value, json: [JSON.stringify(value)] });
    } catch (err) {
      // JSON.parse reads any depth, but JSON.stringify recurses: a value nested tens of
      // thousands of levels deep parses, yet could never be written back.
      this.warn('CACHE_CORRUPT', `cache file ${this.path} holds a value nested too deeply to use (${errorCode(err)}); it is ignored and will be replaced`);
      return;
    }
    for (const [key, entry] of entries) this.entries.set(key, entry);
  }

  /**
   * Queues a write of the current state. Calls made while a write is running share the
   * next write, which takes the state at the time it starts: after two quick writes the
   * file holds the last one, and a burst costs at most two writes.
   */
  private scheduleWrite(): Promise<void> {
    this.dirty = true;
    this.queue = this.queue.then(() => this.flush());
    return this.queue;
  }

  private async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.foreign && !(await this.copyForeignFileAside())) return;
    try {
      // Inside the try: a document too large for one string must fail this write, not the queue.
      const document: Omit<CacheDocument, 'entries'> = {
        format: FILE_CACHE_FORMAT,
        version: FILE_CACHE_VERSION,
        savedAt: new Date().toISOString(),
      };
      // In pieces, written one by one: a large payload is never one string (see stringifyInSlices).
      const text: string[] = [`${JSON.stringify(document).slice(0, -1)},"entries":{`];
      let first = true;
      for (const [key, entry] of this.entries) {
        text.push(`${first ? '' : ','}${JSON.stringify(key)}:`, ...entry.json);
        first = false;
      }
      text.push('}}\n');
      await mkdir(dirname(this.path), { recursive: true });
      await writeAtomically(this.path, text);
      this.writeFailing = false;
    } catch (err) {
      // Warn once per failing spell, not on every refresh of a read-only disk.
      if (!this.writeFailing) {
        this.warn('CACHE_WRITE_FAILED', `cannot write cache file ${this.path} (${errorCode(err)}); keeping flags in memory`, err);
      }
      this.writeFailing = true;
    }
  }

  /**
   * Keeps a copy of the foreign file found at the path before the first write replaces
   * it. The copy never replaces a file (`COPYFILE_EXCL`). Returns whether the write may go
   * ahead; when no copy can be made, the file is left alone and values stay in memory.
   */
  private async copyForeignFileAside(): Promise<boolean> {
    const copy = `${this.path}.foreign-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await copyFile(this.path, copy, constants.COPYFILE_EXCL);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        if (!this.writeFailing) {
          this.warn('CACHE_FOREIGN', `cannot copy the foreign file ${this.path} aside (${errorCode(err)}); not writing over it, keeping flags in memory`, err);
        }
        this.writeFailing = true;
        return false;
      }
      // Gone already (removed, or healed by another instance): there is nothing to keep.
      this.foreign = false;
      return true;
    }
    this.foreign = false;
    this.warn('CACHE_FOREIGN', `copied the foreign file ${this.path} to ${basename(copy)}; the cache file replaces it`);
    return true;
  }

  private async removeStaleTempFiles(): Promise<void> {
    const dir = dirname(this.path);
    const prefix = `.${basename(this.path)}.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return; // no directory yet: nothing to clean
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const file = join(dir, name);
      try {
        if (isStaleTempFile(name, (await stat(file)).mtimeMs)) await unlink(file);
      } catch {
        // Best effort, file by file: a left-over temp file costs disk space, not correctness.
      }
    }
  }

  private warn(code: CacheWarningCode, message: string, cause?: unknown): void {
    const warning = new CacheWarning(code, this.path, message, cause);
    if (!this.reportWarning(warning)) process.emitWarning(warning);
  }
}

/**
 * Writes `text` to `path` so that readers see the old file or the new one, never a
 * partial one, even if the process or machine dies part-way.
 */
async function writeAtomically(path: string, text: readonly string[]): Promise<void> {
  const dir = dirname(path);
  // Same directory, so rename() stays on one file system and is atomic; `wx` refuses to
  // follow a symlink planted at this name (the default directory is shared /tmp).
  const temp = tempFileName(path);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      for (const piece of text) {
        const bytes = Buffer.from(piece, 'utf8');
        // write() may write less than asked (a signal, a nearly full disk): loop until done.
        for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
      }
      // Without fsync a crash after rename can leave an empty file on some file systems.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // Persist the rename itself. Directories cannot be opened this way on Windows: best effort.
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // The data is in place; only its durability across a power cut is less certain.
  }
}
