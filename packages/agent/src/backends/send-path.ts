// Which way the overlay's egress leaves: the super-packet path or the UDP socket. Chosen once at start.
//
// Design notes: the super-packet path (a TapSender from the ports) hands each encapsulated TSO super-packet to
// the kernel whole and the kernel cuts it into standard segments on the underlay, instead of ~45 segments being
// cut, checksummed and sent from userspace. It needs TSO on flannel0 (so super-packets exist), a port that
// offers it (`--no-super-packets` leaves it out), and a kernel with UDP-tunnel GSO on TAP (Linux >= 6.17) and no
// reverse-path filter in the way; where any is missing, the socket path of before is kept and the reason is
// logged and shown in /status. Both paths put a hash of the inner flow in the outer UDP source port where they
// can: the TAP path writes it per packet; the socket path picks one of a few send sockets by it (socket-pool.ts).
// With both at hand only super-packets take the TAP, the rest the batched sockets (split-sender.ts).
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
/** Bytes of the outer IPv4 (20) and UDP (8) headers inside a format's overhead; the rest is the format's own. */
const OUTER_IP_UDP = 28;

export interface SendPathOptions {
  log: Logger;
  ports: AgentPorts;
  /** TSO on flannel0: without it there are no super-packets to carry whole. */
  offloads: boolean;
  publicIp: string;
  /** The format's overhead on the wire (outer IPv4 + UDP + its own headers). */
  overhead: number;
  batchSize: number;
}

/** Opens the super-packet path when it can work here; otherwise says why. Never throws for a missing feature. */
export async function chooseSendPath(o: SendPathOptions): Promise<SendPath> {
  const socketPath = (reason: string): SendPath => {
    o.log.warn(
      { superPackets: false, reason },
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
    const port = await o.ports.openSuperPacketSender({
      name: SUPER_PACKET_TAP,
      source: o.publicIp,
      encapLength: o.overhead - OUTER_IP_UDP,
      batchSize: o.batchSize,
    });
    o.log.info(
      {
        superPackets: true,
        tap: SUPER_PACKET_TAP,
        cmd: `sysctl -w net.ipv4.conf.${SUPER_PACKET_TAP}.{forwarding,accept_local}=1 net.ipv4.conf.${SUPER_PACKET_TAP}.rp_filter=0`,
      },
      'super-packet send path on: the kernel segments encapsulated super-packets on the underlay (UDP-tunnel GSO)',
    );
    return { port, superPackets: true, reason: '' };
  } catch (e) {
    return socketPath(`${(e as Error).name}: ${(e as Error).message}`);
  }
}

type TapStatsLike = Partial<{ txSuperPackets: number; txTooBig: number; txMalformed: number; txErrors: number }>;

function tapStats(port: SuperPacketPort | undefined): TapStatsLike {
  const p = port as { stats?: () => TapStatsLike } | undefined;
  return typeof p?.stats === 'function' ? p.stats() : {};
}

/** Super-packets handed to the kernel whole, and writes it refused (zeros on the socket path). */
export function sendCounters(port: SuperPacketPort | undefined): Record<string, number> {
  const s = tapStats(port);
  return { tx_super_packets_whole: s.txSuperPackets ?? 0, tx_tap_errors: s.txErrors ?? 0 };
}

/** Packets the super-packet sender dropped: outer IPv4 length past 65535, virtio metadata that contradicts the packet. */
export function sendDrops(port: SuperPacketPort | undefined): Record<string, number> {
  const s = tapStats(port);
  return { outer_too_big: s.txTooBig ?? 0, send_malformed: s.txMalformed ?? 0 };
}
