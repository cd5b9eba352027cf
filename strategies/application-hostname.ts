import { listParameter, Rule, RuleKind, type BuiltinStrategy } from './strategy';

/**
 * `applicationHostname`: on when this process's host name is in `hostNames`
 * (case-insensitive). The host name is injected by the client; the engine never reads it,
 * so the answer is known at compile time.
 */
export const applicationHostnameStrategy: BuiltinStrategy = {
  name: 'applicationHostname',
  compile: ({ parameters, env }) => {
    const hosts = new Set(listParameter(parameters.hostNames).map((h) => h.toLowerCase()));
    return new Rule(hosts.has(env.hostname.toLowerCase()) ? RuleKind.ALWAYS : RuleKind.NEVER);
  },
};
