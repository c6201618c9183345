// @weft/netaddr: IPv4 and IPv6 addresses and prefixes, one set of parsing rules for the whole tree. No I/O.
export { AddressError, type AddressErrorCode } from './errors.ts';
export {
  parseIpv4, tryParseIpv4, formatIpv4, ipv4Mask, ipv4PrefixSize, ipv4HostBitsSet,
  parseIpv4Prefix, tryParseIpv4Prefix, formatIpv4Prefix, ipv4PrefixContains, ipv4PrefixCovers, ipv4PrefixEquals,
  ipv4SubnetCount, ipv4Subnet, ipv4SubnetIndex, ipv4NextPrefix, ipv4Subnets,
  type Ipv4Prefix, type PrefixParseOptions,
} from './ipv4.ts';
export {
  IPV6_MAX, parseIpv6, tryParseIpv6, formatIpv6, formatIpv6Bytes, ipv6Groups, ipv6Mask, ipv6HostBitsSet,
  parseIpv6Prefix, tryParseIpv6Prefix, formatIpv6Prefix, ipv6PrefixContains, ipv6PrefixCovers, ipv6PrefixEquals,
  ipv6SubnetCount, ipv6Subnet, ipv6SubnetIndex, ipv6NextPrefix, ipv6Subnets, ipv6FromBytes, writeIpv6Bytes,
  type Ipv6Prefix,
} from './ipv6.ts';
export { parseIp, tryParseIp, formatIp, compareIp, parsePrefix, tryParsePrefix, formatPrefix, type IpAddress, type IpPrefix } from './ip.ts';
export { IPV6_ROW_WORDS, readU32BE, ipv6ToWords, ipv6FromWords, writeIpv6PrefixRow, ipv6RowContains, ipv6FirstMatch } from './packed6.ts';
