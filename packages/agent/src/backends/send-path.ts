// Which way the overlay's egress leaves: the super-packet path or the UDP socket. Chosen once at start.
//
// Design notes: the super-packet path (a TapSender from the ports) hands each encapsulated TSO super-packet to
// the kernel whole and the kernel cuts it into standard segments on the underlay, instead of ~45 segments being
// cut, checksummed and sent from userspace. It needs TSO on flannel0 (so super-packets exist), a port that
// offers it (`--no-super-packets` leaves it out), and a kernel with UDP-tunnel GSO on TAP (Linux >= 6.17) and no
// reverse-path filter in the way; where any is missing, the socket path of before is kept and the reason is
// logged and shown in /status. Both paths put a hash of the inner flow in the outer UDP source port where they
// can: the TAP path writes it per packet; the socket path picks one of a few send sockets by it (socket-pool.ts).
// With both at hand only super-packets take the TAP, the rest the batched sockets (split-sender.ts). Each
// underlay family has its own TAP (weft-gso0 for IPv4, weft-gso6 for IPv6 outer headers), chosen the same way.
import type { Logger } from 'pino';
import type { AgentPorts, SuperPacketPort } from '../ports.ts';

/** What start() decided, for the log and /status. */
export interface SendPath {
  /** The super-packet sender, or undefined on the socket path. */
  port?: SuperPacketPort;
  superPackets: boolean;
  /** Why the socket path was kept ('' when the super-packet path is on). */
  reason: string;
}

/** Name of weft's TAP on the node: the kernel forwards what weft writes into it out of the underlay. */
export const SUPER_PACKET_TAP = 'weft-gso0';
/** The IPv6 underlay's TAP (outer IPv6 headers). */
export const SUPER_PACKET_TAP6 = 'weft-gso6';
/** Bytes of the outer IP (IPv4 20, IPv6 40) and UDP (8) headers inside a format's overhead; the rest is its own. */
const OUTER_IP_UDP = { 4: 28, 6: 48 } as const;

export interface SendPathOptions {
  log: Logger;
  ports: AgentPorts;
  /** TSO on flannel0: without it there are no super-packets to carry whole. */
  offloads: boolean;
  /** The underlay address the TAP sends from: its family picks the TAP (IPv4 or IPv6 outer headers). */
  publicIp: string;
  /** The format's overhead on the wire over this family's underlay (outer IP + UDP + its own headers). */
  overhead: number;
  batchSize: number;
  /** The overlay MTU (flannel0's, the same on every node): receivers re-cut super-packets at it. @default 0 (no cut here) */
  innerMtu?: number;
  /** The MTU of the IPv6 pod routes: IPv6 segments of that size are normal. @default innerMtu */
  innerMtu6?: number;
}

/** Opens the super-packet path when it can work here; otherwise says why. Never throws for a missing feature. */
export async function chooseSendPath(o: SendPathOptions): Promise<SendPath> {
  const family = o.publicIp.includes(':') ? 6 : 4;
  const tap = family === 6 ? SUPER_PACKET_TAP6 : SUPER_PACKET_TAP;
  const socketPath = (reason: string): SendPath => {
    o.log.warn(
      { superPackets: false, family, reason },
      'super-packet send path off: segments are cut in userspace and sent from UDP sockets',
    );
    return { superPackets: false, reason };
  };
  if (!o.ports.openSuperPacketSender)
    return socketPath(
      'forced off: the ports offer no super-packet sender (--no-super-packets or WEFT_SUPER_PACKETS=0)',
    );
  if (!o.offloads) return socketPath('TUN offloads are off (--no-offload): no super-packets to carry');
  try {
    const cut = { innerMtu: o.innerMtu ?? 0, innerMtu6: o.innerMtu6 ?? o.innerMtu ?? 0 };
    const port = await o.ports.openSuperPacketSender({
      name: tap,
      source: o.publicIp,
      encapLength: o.overhead - OUTER_IP_UDP[family],
      batchSize: o.batchSize,
      ...cut,
    });
    const cmd =
      family === 4
        ? `sysctl -w net.ipv4.conf.${tap}.{forwarding,accept_local}=1 net.ipv4.conf.${tap}.rp_filter=0`
        : `ip link set dev ${tap} addrgenmode none; sysctl -w net.ipv6.conf.${tap}.{accept_ra,router_solicitations,dad_transmits,forwarding,disable_ipv6}=0 net.ipv6.conf.${tap}.force_forwarding=1`;
    o.log.info(
      {
        superPackets: true,
        family,
        tap,
        cmd,
        cutBelow: { ipv4: cut.innerMtu, ipv6: cut.innerMtu6 },
      },
      'super-packet send path on: the kernel segments encapsulated super-packets on the underlay (UDP-tunnel GSO)',
    );
    return { port, superPackets: true, reason: '' };
  } catch (e) {
    return socketPath(`${(e as Error).name}: ${(e as Error).message}`);
  }
}

type TapStatsLike = Partial<{
  txSuperPackets: number;
  txTooBig: number;
  txMalformed: number;
  txErrors: number;
  txSplitSuperPackets: number;
}>;

function tapStats(port: SuperPacketPort | undefined): TapStatsLike {
  const p = port as { stats?: () => TapStatsLike } | undefined;
  return typeof p?.stats === 'function' ? p.stats() : {};
}

/**
 * Super-packets handed to the kernel whole, and writes it refused (zeros on the socket path); `suffix` tells
 * the IPv6 underlay's TAP apart ('_ipv6').
 */
export function sendCounters(port: SuperPacketPort | undefined, suffix = ''): Record<string, number> {
  const s = tapStats(port);
  return {
    [`tx_super_packets_whole${suffix}`]: s.txSuperPackets ?? 0,
    [`tx_super_packets_split${suffix}`]: s.txSplitSuperPackets ?? 0,
    [`tx_tap_errors${suffix}`]: s.txErrors ?? 0,
  };
}

/** Packets the super-packet senders dropped: outer IP length past 65535, virtio metadata that contradicts the packet. */
export function sendDrops(...ports: (SuperPacketPort | undefined)[]): Record<string, number> {
  const out = { outer_too_big: 0, send_malformed: 0 };
  for (const port of ports) {
    const s = tapStats(port);
    out.outer_too_big += s.txTooBig ?? 0;
    out.send_malformed += s.txMalformed ?? 0;
  }
  return out;
}
