import { inCidr, parseAddress, parseCidr, type Cidr } from '../lib/ip';
import { listParameter, type BuiltinStrategy } from './strategy';

/** `remoteAddress`: on when `remoteAddress` is one of the `IPs` (exact addresses or CIDR ranges). */
export const remoteAddressStrategy: BuiltinStrategy = {
  name: 'remoteAddress',
  compile: ({ parameters }) => {
    const exact = new Set<string>();
    const ranges: Cidr[] = [];
    for (const entry of listParameter(parameters.IPs)) {
      exact.add(entry);
      const range = parseCidr(entry);
      if (range) ranges.push(range);
    }
    return {
      test: (context) => {
        const ip = context.remoteAddress;
        if (typeof ip !== 'string' || ip === '') return false;
        if (exact.has(ip)) return true;
        if (ranges.length === 0) return false;
        const address = parseAddress(ip);
        if (!address) return false;
        for (let i = 0; i < ranges.length; i++) if (inCidr(address, ranges[i]!)) return true;
        return false;
      },
    };
  },
};
