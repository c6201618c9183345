// Either family, for the edges that take both (BGP peers and next hops, flags): the family is chosen by the text
// (a ':' means IPv6) and carried as a discriminant, so callers switch on it once and then use the typed functions.
import { AddressError } from './errors.ts';
import {
  formatIpv4,
  formatIpv4Prefix,
  parseIpv4,
  parseIpv4Prefix,
  type Ipv4Prefix,
  type PrefixParseOptions,
} from './ipv4.ts';
import { formatIpv6, formatIpv6Prefix, parseIpv6, parseIpv6Prefix, type Ipv6Prefix } from './ipv6.ts';

/** An address of either family: a uint32 for IPv4, a bigint for IPv6. */
export type IpAddress = { readonly family: 4; readonly ip: number } | { readonly family: 6; readonly ip: bigint };

/** A prefix of either family. */
export type IpPrefix = ({ readonly family: 4 } & Ipv4Prefix) | ({ readonly family: 6 } & Ipv6Prefix);

/** Parses an IPv4 or IPv6 address. Throws AddressError (the codes of parseIpv4 or parseIpv6). */
export function parseIp(text: string): IpAddress {
  return text.includes(':') ? { family: 6, ip: parseIpv6(text) } : { family: 4, ip: parseIpv4(text) };
}

/** Like parseIp, but returns null instead of throwing. */
export function tryParseIp(text: string): IpAddress | null {
  try {
    return parseIp(text);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** Dotted quad or RFC 5952 text. */
export function formatIp(a: IpAddress): string {
  return a.family === 4 ? formatIpv4(a.ip) : formatIpv6(a.ip);
}

/** Orders addresses numerically, every IPv4 address before every IPv6 one; < 0, 0 or > 0. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.ip === b.ip ? 0 : a.ip < b.ip ? -1 : 1;
}

/** Parses an IPv4 or IPv6 prefix. Throws AddressError (see parseIpv4Prefix, parseIpv6Prefix). */
export function parsePrefix(text: string, options?: PrefixParseOptions): IpPrefix {
  return text.includes(':')
    ? { family: 6, ...parseIpv6Prefix(text, options) }
    : { family: 4, ...parseIpv4Prefix(text, options) };
}

/** Like parsePrefix, but returns null instead of throwing. */
export function tryParsePrefix(text: string, options?: PrefixParseOptions): IpPrefix | null {
  try {
    return parsePrefix(text, options);
  } catch (e) {
    if (e instanceof AddressError) return null;
    throw e;
  }
}

/** `ADDR/N` text of a prefix of either family. */
export function formatPrefix(p: IpPrefix): string {
  return p.family === 4 ? formatIpv4Prefix(p) : formatIpv6Prefix(p);
}
