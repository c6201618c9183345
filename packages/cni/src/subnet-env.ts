// The node's side of the contract: flannel's /run/flannel/subnet.env as flanneld and `weft agent` write it.
//   FLANNEL_NETWORK=10.244.0.0/16   the cluster network (a route to it goes into every container); flannel's
//                                   plugin also takes a comma-separated list (one route each, duplicates once)
//   FLANNEL_SUBNET=10.244.1.1/24    this node's lease, written as its first host address (the bridge's)
//   FLANNEL_MTU=1450                the overlay MTU
//   FLANNEL_IPMASQ=false            true when the agent masquerades itself (so the bridge must not)
//   FLANNEL_IPV6_NETWORK / FLANNEL_IPV6_SUBNET: the same for IPv6 in a dual-stack or IPv6-only cluster; either
//                                   family alone is a valid file (flannel's EnableIPv4: false writes no IPv4 keys)
// Parsed strictly: a missing key or a value that does not parse is an error naming it, never a default. Stricter
// than flannel's plugin: a family's network and subnet come as a pair, and the subnet lies inside a network.
import {
  formatIp,
  formatPrefix,
  ipv4PrefixCovers,
  ipv6PrefixCovers,
  tryParsePrefix,
  type IpPrefix,
} from '@weft/netaddr';
import { CniError, CniErrorCode } from './errors.ts';

export interface FlannelSubnetEnv {
  /** Cluster networks, IPv4 first (`10.244.0.0/16`, then `fd00:10::/48`); several per family when listed. */
  networks: string[];
  /** This node's subnets in network form (`10.244.1.0/24`), one per family, IPv4 first. */
  subnets: string[];
  /** Each subnet's first address (`10.244.1.1`): the bridge's, and host-local's default gateway. */
  gateways: string[];
  mtu: number;
  ipMasq: boolean;
}

/** KEY=value lines; blank lines and `#` comments skipped, surrounding blanks trimmed. */
export function parseEnvLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.trimStart().startsWith('#')) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

function invalid(path: string, why: string): CniError {
  return new CniError(
    CniErrorCode.SubnetEnvInvalid,
    `${path}: ${why}`,
    'subnet.env is written by the node agent (weft agent --subnet-file, or flanneld)',
  );
}

function prefixOf(path: string, key: string, text: string, family: 4 | 6): IpPrefix {
  const p = tryParsePrefix(text.trim(), { strict: false });
  if (!p || p.family !== family) throw invalid(path, `${key}=${text} is not an IPv${family} prefix`);
  return p;
}

function required(path: string, env: Map<string, string>, key: string): string {
  const text = env.get(key);
  if (text === undefined) throw invalid(path, `${key} is missing`);
  return text;
}

/** A comma-separated list of networks in network form, each once (flannel's plugin drops repeats). */
function networkList(path: string, key: string, text: string, family: 4 | 6): IpPrefix[] {
  const out = new Map<string, IpPrefix>();
  for (const item of text.split(',')) {
    const p = prefixOf(path, key, item, family);
    out.set(formatPrefix(p), p);
  }
  return [...out.values()];
}

function covers(outer: IpPrefix, inner: IpPrefix): boolean {
  if (outer.family === 4 && inner.family === 4) return ipv4PrefixCovers(outer, inner);
  return outer.family === 6 && inner.family === 6 && ipv6PrefixCovers(outer, inner);
}

/** One family's network and subnet, or null when neither key is set. The subnet must lie in the network. */
function familyPair(
  path: string,
  env: Map<string, string>,
  family: 4 | 6,
): { networks: string[]; subnet: string; gateway: string } | null {
  const [netKey, subKey] =
    family === 4 ? ['FLANNEL_NETWORK', 'FLANNEL_SUBNET'] : ['FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET'];
  if (!env.has(netKey) && !env.has(subKey)) return null;
  const networks = networkList(path, netKey, required(path, env, netKey), family);
  const subnet = prefixOf(path, subKey, required(path, env, subKey), family);
  if (!networks.some((n) => covers(n, subnet)))
    throw invalid(path, `${subKey} is not inside ${netKey}=${networks.map(formatPrefix).join(',')}`);
  const gateway =
    subnet.family === 4
      ? formatIp({ family: 4, ip: (subnet.ip + 1) >>> 0 })
      : formatIp({ family: 6, ip: subnet.ip + 1n });
  return { networks: networks.map(formatPrefix), subnet: formatPrefix(subnet), gateway };
}

/**
 * Parses subnet.env text (`path` only names the file in messages). Throws CniError(SubnetEnvInvalid) naming the
 * key when one is missing or does not parse: FLANNEL_MTU (68..65535), FLANNEL_IPMASQ (true|false), and at least
 * one family's network and subnet.
 */
export function parseFlannelSubnetEnv(text: string, path: string): FlannelSubnetEnv {
  const env = parseEnvLines(text);
  const pairs = [familyPair(path, env, 4), familyPair(path, env, 6)].filter((p) => p !== null);
  if (pairs.length === 0)
    throw invalid(
      path,
      'FLANNEL_NETWORK and FLANNEL_SUBNET are missing (IPv6: FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET)',
    );
  const mtuText = env.get('FLANNEL_MTU');
  if (mtuText === undefined) throw invalid(path, 'FLANNEL_MTU is missing');
  const mtu = /^\d{1,5}$/.test(mtuText) ? Number(mtuText) : Number.NaN;
  if (!(mtu >= 68 && mtu <= 65535)) throw invalid(path, `FLANNEL_MTU=${mtuText} is not an MTU (68..65535)`);
  const masq = env.get('FLANNEL_IPMASQ');
  if (masq === undefined) throw invalid(path, 'FLANNEL_IPMASQ is missing');
  if (masq !== 'true' && masq !== 'false') throw invalid(path, `FLANNEL_IPMASQ=${masq} is not true or false`);
  return {
    networks: pairs.flatMap((p) => p.networks),
    subnets: pairs.map((p) => p.subnet),
    gateways: pairs.map((p) => p.gateway),
    mtu,
    ipMasq: masq === 'true',
  };
}
