import { AddressSet } from '../lib/engine/ip';
import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { listParameter } from './parameters';

/**
 * `remoteAddress`: on when `remoteAddress` is one of the `IPs` (addresses or CIDR ranges),
 * compared as addresses, not text: `::ffff:10.0.0.1` is the entry `10.0.0.1`, and an
 * IPv4 address is in no IPv6 range (see `lib/engine/ip.ts`). An entry that is neither is
 * ignored, with one warning.
 */
export const remoteAddressStrategy: StrategyCompiler = {
  name: 'remoteAddress',
  compile: ({ parameters, env }) => {
    const addresses = new AddressSet(listParameter(parameters.IPs), (entry) => {
      const shown = JSON.stringify(entry.length > 60 ? `${entry.slice(0, 60)}…` : entry);
      env.warn(`remoteAddress:${entry}`, `remoteAddress strategy ignores ${shown} in IPs: not an address or CIDR range`);
    });
    return new CompiledStrategy(StrategyKind.REMOTE_ADDRESS, 0, '', addresses);
  },
};
