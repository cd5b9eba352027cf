/**
 * The poller's pure parts. Its behaviour against a server (statuses, backoff, the /api
 * hint in real messages) is tested through the client in client.test.ts.
 */
import { missingApiHint } from '../../lib/poller';

describe('missingApiHint: what a url that does not end with /api should probably be', () => {
  test.each([
    ['http://unleash.example.com', 'http://unleash.example.com/api'],
    ['http://unleash.example.com/', 'http://unleash.example.com/api'],
    ['https://example.com/unleash', 'https://example.com/unleash/api'],
    ['https://example.com/api/client', 'https://example.com/api'],
    ['https://example.com/api/frontend', 'https://example.com/api'],
    ['https://example.com/unleash/api/client/features', 'https://example.com/unleash/api'],
    ['https://example.com/apis', 'https://example.com/apis/api'],
    ['https://user:s3cret@example.com:8443/x', 'https://example.com:8443/x/api'],
  ])('%s → %s', (url, suggested) => {
    const hint = missingApiHint(url);
    expect(hint).toBe(`The url option does not end with "/api", where Unleash serves the client API: it should probably be ${suggested}`);
    expect(hint).not.toContain('s3cret');
  });

  test.each([['http://h/api'], ['http://h/api/'], ['https://example.com/unleash/api'], ['not a url'], [undefined]])('%s: no hint', (url) => {
    expect(missingApiHint(url)).toBeUndefined();
  });
});
