import { parseCidr, type Cidr } from '../lib/ip';
import { AddressList, listParameter, Rule, RuleKind, type BuiltinStrategy } from './strategy';

/**
 * `remoteAddress`: on when `remoteAddress` is one of the `IPs` (exact addresses or CIDR
 * ranges). Exact entries are looked up in an index into the parameter text; only the
 * ranges are kept parsed.
 */
export const remoteAddressStrategy: BuiltinStrategy = {
  name: 'remoteAddress',
  compile: ({ parameters }) => {
    const text = parameters.IPs ?? '';
    const ranges: Cidr[] = [];
    for (const entry of listParameter(text)) {
      const range = parseCidr(entry);
      if (range) ranges.push(range);
    }
    return new Rule(RuleKind.REMOTE_ADDRESS, 0, '', new AddressList(text, ranges));
  },
};
