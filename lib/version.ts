/**
 * Version facts the client reports to the server. Kept as constants rather than read from
 * package.json, so the bundle does not carry the whole manifest; a test keeps
 * `SDK_VERSION` in step with package.json.
 */

/**
 * This package's version.
 *
 * @group Client
 */
export const SDK_VERSION = '0.1.0';

/** `unleash-sdk` header and `sdkVersion` field: `switchyard-flags:<version>` (the npm package's name). */
export const SDK_NAME = `switchyard-flags:${SDK_VERSION}`;

/**
 * The Unleash client specification version implemented. 4.2.0 or higher makes the server
 * send segments once at the top level instead of inlining them into every strategy.
 */
export const SPEC_VERSION = '5.2.0';
