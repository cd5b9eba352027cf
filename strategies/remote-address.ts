import { parseCidr, type Cidr } from '../lib/engine/ip';
import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { AddressList } from '../lib/engine/id-list';
import { listParameter } from './parameters';

/**
 * `remoteAddress`: on when `remoteAddress` is one of the `IPs` (exact addresses or CIDR
 * ranges). Exact entries are looked up in an index into the parameter text; only the
 * ranges are kept parsed.
 */
export const remoteAddressStrategy: StrategyCompiler = {
  name: 'remoteAddress',
  compile: ({ parameters }) => {
    const text = parameters.IPs ?? '';
    const ranges: Cidr[] = [];
    for (const entry of listParameter(text)) {
      const range = parseCidr(entry);
      if (range) ranges.push(range);
    }
    return new CompiledStrategy(StrategyKind.REMOTE_ADDRESS, 0, '', new AddressList(text, ranges));
  },
};
