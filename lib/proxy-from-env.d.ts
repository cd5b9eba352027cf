/** Types for proxy-from-env 2.x, which ships none. */
declare module 'proxy-from-env' {
  /**
   * The proxy URL for `url` from `*_PROXY`, `ALL_PROXY` and `NO_PROXY` in `process.env`,
   * or `''` when none applies (no proxy set, `NO_PROXY` matches, or `url` has no host).
   */
  export function getProxyForUrl(url: string | URL): string;
}
