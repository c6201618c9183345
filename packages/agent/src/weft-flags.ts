// weft's own flags of `weft agent` (route sync, BGP, capture, offloads), validated from the parsed flag values.
import { formatIp, formatIpv4, tryParseIp, tryParseIpv4 } from '@weft/netaddr';
import { ConfigError } from './config.ts';
import type { FlagValues } from './flags.ts';

/** Route sync, BGP, capture and offload settings: weft's own, beside flanneld's. */
export interface WeftSettings {
  readonly routeSync: 'lease' | 'bgp';
  readonly pcap: string | null;
  readonly offload: boolean;
  /** The super-packet send path (on where the kernel has it); `--no-super-packets` forces the socket path. */
  readonly superPackets: boolean;
  readonly bgpAs: number;
  readonly bgpPort: number;
  readonly bgpPeers: readonly { readonly address: string; readonly as: number }[];
  readonly routeReflectors: readonly string[];
  /** --bgp-router-id: a non-zero dotted quad or `hash` (of the node name); null for the default (bgp-router-id.ts). */
  readonly bgpRouterId?: string | null;
  /** --max-peers: the most peers routed; 0 (or absent) for the network's subnet count (daemon.ts). */
  readonly maxPeers?: number;
}

/** The addon's peer index range (backends/peers.ts, PEER_INDEX_LIMIT): no larger --max-peers can be honoured. */
const MAX_PEERS_CAP = 1 << 20;

function asNumber(field: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 4294967295)
    throw new ConfigError(field, `expected an AS number 1..4294967295, got "${text}"`);
  return n;
}

/** A BGP neighbour of either family (an IPv6 one is an IPv6 session: dual stack), in canonical text. */
function peerAddress(field: string, text: string): string {
  const ip = tryParseIp(text);
  if (ip === null) throw new ConfigError(field, `expected an IPv4 or IPv6 address, got "${text}"`);
  return formatIp(ip);
}

function bgpPeer(text: string): { address: string; as: number } {
  const [addr, as, more] = text.split(',');
  if (!addr || !as || more !== undefined)
    throw new ConfigError('--bgp-peer', 'expected ADDR,AS such as 192.0.2.1,64512 or 2001:db8::1,64512');
  return { address: peerAddress('--bgp-peer', addr), as: asNumber('--bgp-peer', as) };
}

/** --bgp-router-id: `hash`, or a non-zero IPv4 address in canonical text (RFC 6286 §2.1: never 0.0.0.0). */
function routerIdFlag(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  if (text === 'hash') return text;
  const v4 = tryParseIpv4(text);
  if (v4 === null || v4 === 0)
    throw new ConfigError(
      '--bgp-router-id',
      `expected a non-zero IPv4 address such as 192.0.2.1, or hash, got "${text}"`,
    );
  return formatIpv4(v4);
}

/** weft's settings from the flag values (by flag name). Throws ConfigError naming the flag. */
export function weftSettings(values: FlagValues): WeftSettings {
  const routeSync = (values['route-sync'] as string | undefined) ?? 'lease';
  if (routeSync !== 'lease' && routeSync !== 'bgp')
    throw new ConfigError('--route-sync', `expected lease or bgp, got "${routeSync}"`);
  const port = (values['bgp-port'] as string | undefined) ?? '179';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new ConfigError('--bgp-port', `expected a port 1..65535, got "${port}"`);
  const maxPeers = (values['max-peers'] as string | undefined) ?? '0';
  if (!/^\d+$/.test(maxPeers) || Number(maxPeers) > MAX_PEERS_CAP)
    throw new ConfigError('--max-peers', `expected an integer 0..${MAX_PEERS_CAP}, got "${maxPeers}"`);
  return {
    routeSync,
    maxPeers: Number(maxPeers),
    pcap: (values.pcap as string | undefined) ?? null,
    offload: (values.offload as boolean | undefined) ?? true,
    superPackets: (values['super-packets'] as boolean | undefined) ?? true,
    bgpAs: asNumber('--bgp-as', (values['bgp-as'] as string | undefined) ?? '64512'),
    bgpPort: Number(port),
    bgpRouterId: routerIdFlag(values['bgp-router-id'] as string | undefined),
    bgpPeers: ((values['bgp-peer'] as string[] | undefined) ?? []).map(bgpPeer),
    routeReflectors: ((values['route-reflector'] as string[] | undefined) ?? []).map((a) =>
      peerAddress('--route-reflector', a),
    ),
  };
}
