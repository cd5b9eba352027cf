import { SwitchyardError, SwitchyardErrorCode } from '../../lib/errors';

/** The base class is abstract; the package's own subclasses are tested with their modules. */
class ProbeError extends SwitchyardError {}

describe('SwitchyardErrorCode', () => {
  test('names every code once, each by its own value, in a frozen object', () => {
    expect(Object.isFrozen(SwitchyardErrorCode)).toBe(true);
    for (const [key, value] of Object.entries(SwitchyardErrorCode)) expect(value).toBe(key);
    expect(Object.keys(SwitchyardErrorCode)).toEqual([
      'CONFIG_INVALID',
      'URL_INVALID',
      'FILE_NOT_FOUND',
      'FILE_UNREADABLE',
      'HTTP_TIMEOUT',
      'HTTP_NETWORK',
      'HTTP_ABORTED',
      'HTTP_STATUS',
      'HTTP_BODY_TOO_LARGE',
      'PAYLOAD_NOT_JSON',
      'PAYLOAD_INVALID',
      'CACHE_CORRUPT',
      'CACHE_FOREIGN',
      'CACHE_VERSION_UNSUPPORTED',
      'CACHE_READ_FAILED',
      'CACHE_WRITE_FAILED',
    ]);
  });

  test('cannot be changed at run time', () => {
    expect(() => {
      (SwitchyardErrorCode as Record<string, string>).HTTP_TIMEOUT = 'timeout';
    }).toThrow(TypeError);
    expect(SwitchyardErrorCode.HTTP_TIMEOUT).toBe('HTTP_TIMEOUT');
  });
});

describe('SwitchyardError', () => {
  test('is an Error carrying its code and message', () => {
    const err = new ProbeError(SwitchyardErrorCode.FILE_NOT_FOUND, 'no such file');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'FILE_NOT_FOUND', message: 'no such file' });
  });

  test('passes a cause on to Error, and has no cause key without one', () => {
    const cause = new Error('low level');
    expect(new ProbeError('HTTP_NETWORK', 'failed', { cause }).cause).toBe(cause);
    expect('cause' in new ProbeError('HTTP_NETWORK', 'failed')).toBe(false);
    expect('cause' in new ProbeError('HTTP_NETWORK', 'failed', { cause: undefined })).toBe(false);
  });
});
