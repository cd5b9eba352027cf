import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { listParameter } from './parameters';

/**
 * `applicationHostname`: on when this process's host name is in `hostNames`
 * (case-insensitive). The host name is injected by the client; the engine never reads it,
 * so the answer is known at compile time.
 */
export const applicationHostnameStrategy: StrategyCompiler = {
  name: 'applicationHostname',
  compile: ({ parameters, env }) => {
    const hosts = new Set(listParameter(parameters.hostNames).map((h) => h.toLowerCase()));
    return new CompiledStrategy(hosts.has(env.hostname.toLowerCase()) ? StrategyKind.ALWAYS : StrategyKind.NEVER);
  },
};
