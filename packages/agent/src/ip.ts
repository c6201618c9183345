// Temporary adapter: the old names of the agent's IPv4 helpers over @weft/netaddr, for the files that still import
// them while they are being restructured. New code imports @weft/netaddr (and ./subnet-key.ts) directly.
import { tryParseIpv4Prefix, type Ipv4Prefix } from '@weft/netaddr';

export type { Ipv4Prefix as Ip4Net } from '@weft/netaddr';
export {
  tryParseIpv4 as parseIp4, formatIpv4 as formatIp4, formatIpv4Prefix as formatIp4Net, ipv4Mask as maskOf, ipv4PrefixSize as sizeOf,
  ipv4PrefixContains as netContains, ipv4PrefixEquals as netEquals,
} from '@weft/netaddr';
export { subnetKey, parseSubnetKey } from './subnet-key.ts';

/** `A.B.C.D/N` to a prefix, or null; with `strict` (the default) host bits set are refused, else cleared. */
export function parseIp4Net(text: string, strict = true): Ipv4Prefix | null {
  return tryParseIpv4Prefix(text, { strict });
}
