// IPv4 addresses as uint32 numbers (>>> 0) and networks as { ip, prefixLen }. Pure, no I/O.

/** An IPv4 network: `ip` is the network address (host bits zero) as a uint32. */
export interface Ip4Net {
  readonly ip: number;
  readonly prefixLen: number;
}

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text into a uint32, or returns null when it is not one. */
export function parseIp4(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return null;
    n = n * 256 + octet;
  }
  return n;
}

/** Formats a uint32 as dotted-quad text. */
export function formatIp4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Netmask for a prefix length (0..32) as a uint32. */
export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Number of addresses in a prefix. */
export function sizeOf(prefixLen: number): number {
  return 2 ** (32 - prefixLen);
}

/** Parses `A.B.C.D/N`; returns null for bad text or when host bits are set (`strict`, the default). */
export function parseIp4Net(text: string, strict = true): Ip4Net | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(lenText)) return null;
  const prefixLen = Number(lenText);
  if (prefixLen > 32) return null;
  const masked = (ip & maskOf(prefixLen)) >>> 0;
  if (strict && masked !== ip) return null;
  return { ip: masked, prefixLen };
}

/** Formats a network as `A.B.C.D/N`. */
export function formatIp4Net(net: Ip4Net): string {
  return `${formatIp4(net.ip)}/${net.prefixLen}`;
}

/** True when `ip` (uint32) is inside `net`. */
export function netContains(net: Ip4Net, ip: number): boolean {
  return ((ip & maskOf(net.prefixLen)) >>> 0) === net.ip;
}

/** True when the two networks are the same prefix. */
export function netEquals(a: Ip4Net, b: Ip4Net): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}

/** flannel's key form of a subnet: `10.244.1.0-24` (the `/` would be a path separator in etcd keys). */
export function subnetKey(net: Ip4Net): string {
  return `${formatIp4(net.ip)}-${net.prefixLen}`;
}

/** Parses flannel's `10.244.1.0-24` key form; null when malformed. */
export function parseSubnetKey(key: string): Ip4Net | null {
  const dash = key.lastIndexOf('-');
  if (dash < 0) return null;
  return parseIp4Net(`${key.slice(0, dash)}/${key.slice(dash + 1)}`);
}
