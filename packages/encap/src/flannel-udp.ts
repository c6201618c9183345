// flannel's udp backend (flanneld pkg/backend/udp, proxy_amd64.c): the raw inner IP packet read from the TUN
// device is the whole UDP payload, sent to the peer's port 8285. There is no header of its own. Like a router,
// flanneld decrements the TTL in both directions (tun_to_udp and udp_to_tun), patching the IPv4 checksum
// incrementally (RFC 1624), and drops a packet whose TTL would reach 0. (flanneld's C checks only for 0 after the
// decrement, so a TTL of 0 wraps to 255; weft drops it, as RFC 1812 section 5.3.1 says.)
import { DropReason, PacketSpan } from './drop.ts';
import { checkIpPacket } from './inner.ts';

/** flanneld's udp backend port (`Backend.Port` default). */
export const FLANNEL_UDP_PORT = 8285;

const scratch = new PacketSpan();

/**
 * Prepares the IP packet at `[offset, offset + length)` read from the TUN device for sending as a flannel-udp
 * datagram, in place: checks it is IPv4/IPv6 with a consistent length and decrements its TTL. Nothing is
 * prepended, so it returns `offset` unchanged; or `-DropReason` (negative) to drop it.
 */
export function encapsulateFlannelUdp(buf: Uint8Array, offset: number, length: number): number {
  const r = checkIpPacket(buf, offset, length, 0, scratch, true);
  return r === (0 satisfies DropReason.None) ? offset : -r;
}

/**
 * Checks the flannel-udp datagram payload at `[offset, offset + length)` and decrements the inner TTL in place.
 * On DropReason.None, `out` is the IP packet (trimmed to its total length). Never throws, never allocates.
 */
export function decapsulateFlannelUdp(buf: Uint8Array, offset: number, length: number, out: PacketSpan): DropReason {
  return checkIpPacket(buf, offset, length, 0, out, true);
}
