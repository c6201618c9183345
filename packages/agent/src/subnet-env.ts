// flannel's /run/flannel/subnet.env, which CNI plugins read to configure pods:
//   FLANNEL_NETWORK=10.244.0.0/16  FLANNEL_SUBNET=10.244.1.1/24  FLANNEL_MTU=1450  FLANNEL_IPMASQ=false
// Written atomically (temp file + rename) so a reader never sees half a file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NetConfig } from './config.ts';
import { tryParseIpv4Prefix, formatIpv4Prefix, formatIpv4, type Ipv4Prefix } from '@weft/netaddr';

/** FLANNEL_SUBNET is the subnet's first host address with the subnet's prefix length, as flannel writes it. */
export function subnetEnvValues(
  config: NetConfig,
  subnet: Ipv4Prefix,
  mtu: number,
  ipMasq: boolean,
): Record<string, string> {
  return {
    FLANNEL_NETWORK: formatIpv4Prefix(config.network),
    FLANNEL_SUBNET: `${formatIpv4(subnet.ip + 1)}/${subnet.prefixLen}`,
    FLANNEL_MTU: String(mtu),
    FLANNEL_IPMASQ: String(ipMasq),
  };
}

/** KEY=value lines, in the order given. */
export function formatSubnetEnv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** Writes the file atomically, creating its directory. */
export function writeSubnetEnv(path: string, values: Record<string, string>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatSubnetEnv(values));
  renameSync(tmp, path);
}

/** Parses KEY=value lines (ours or flanneld's); blank lines and `#` comments are skipped. */
export function parseSubnetEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.trimStart().startsWith('#')) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * The subnet an earlier run leased, from FLANNEL_SUBNET (`10.244.1.1/24` → 10.244.1.0/24), or null. flanneld
 * reads its old subnet.env the same way, to ask for the same subnet again (LeaseManager `previousSubnet`).
 */
export function previousSubnetFromEnv(values: Record<string, string>): Ipv4Prefix | null {
  const text = values.FLANNEL_SUBNET;
  return text ? tryParseIpv4Prefix(text, { strict: false }) : null;
}

/** Reads and parses a subnet.env file; null when it does not exist or cannot be read. */
export function readSubnetEnv(path: string): Record<string, string> | null {
  try {
    return parseSubnetEnv(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
