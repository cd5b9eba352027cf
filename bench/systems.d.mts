import type { Context, Variant } from '../lib/types';

/** What the benchmark evaluates through. */
export interface Target {
  isEnabled(name: string, context: Context): boolean;
  getVariant(name: string, context: Context): Variant;
}
export interface LoadedSystem {
  mode: string;
  target: Target;
  destroy(): Promise<void>;
}
export interface LoadOptions {
  url?: string;
  source?: 'server' | 'bootstrap';
}
export function officialVersion(): string;
export function loadOfficial(text: string, options?: LoadOptions): Promise<LoadedSystem>;
export function loadSwitchyard(mod: unknown, text: string, options?: LoadOptions & { prefer?: 'client' | 'engine' }): Promise<LoadedSystem>;
