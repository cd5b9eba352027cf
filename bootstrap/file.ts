/**
 * Bootstrap from a file on disk: a client-API body saved from a server, or written by
 * hand, so a service starts with known flags before (or without) reaching Unleash.
 */
import { readFile } from 'node:fs/promises';
import { BootstrapError, parseBootstrapBody, type BootstrapResult } from './dict';

/**
 * Reads and validates a bootstrap file. Throws `BootstrapError` with code
 * `FILE_NOT_FOUND`, `FILE_UNREADABLE`, `PAYLOAD_NOT_JSON` or `PAYLOAD_INVALID`.
 */
export async function loadBootstrapFile(path: string): Promise<BootstrapResult> {
  if (typeof path !== 'string' || path === '') {
    throw new BootstrapError('FILE_NOT_FOUND', String(path), 'the path must be a non-empty string');
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BootstrapError('FILE_NOT_FOUND', path, 'the file does not exist', { cause: err });
    throw new BootstrapError('FILE_UNREADABLE', path, `the file cannot be read (${code ?? 'unknown error'})`, {
      cause: err,
    });
  }
  // The bytes go through the same decoding (UTF-8, one byte-order mark dropped) and parser
  // as every other source.
  return parseBootstrapBody(bytes, path);
}
