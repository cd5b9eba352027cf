import type { Context, Variant } from '../../lib/types';

/**
 * A client-API body as generated: mostly well-formed, with shapes the server never sends
 * mixed in (so its parts are loosely typed).
 */
export interface WireBody {
  version: number;
  features: Array<Record<string, unknown> & { name: string }>;
  segments: Array<Record<string, unknown> & { id: number }>;
}
/** One context to ask every flag about, with the fallbacks to pass. */
export interface Query {
  context: Context;
  enabledFallback?: boolean;
  variantFallback?: Variant;
}
/** What one seed generates: a body, the names to ask about (two of them unknown), the queries. */
export interface GeneratedCase {
  body: WireBody;
  names: string[];
  queries: Query[];
}
/** The `appName` and `environment` both SDKs are configured with. */
export const CLIENT_DEFAULTS: Readonly<{ appName: string; environment: string }>;
/** A seeded case; the same seed (and host name) always gives the same case. */
export function generateCase(seed: number, options?: { flags?: number; contexts?: number; hostname?: string }): GeneratedCase;
