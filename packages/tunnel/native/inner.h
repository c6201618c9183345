// How a decapsulated inner packet goes to the TUN device: whole (a GSO write), with its checksum left to the
// kernel (NEEDS_CSUM), segmented here, or dropped. Pure: no file descriptors, so it is tested without a kernel.
#pragma once
#include <cstddef>
#include <cstdint>

#include "offload.h"

namespace weft {

/** What to do with one inner packet; the numeric values are what planInnerWrite() returns to JavaScript. */
enum class InnerVerdict : int {
  Write = 0,            // write p[0..len) as it is (with offloads: a zero vnet header, or coalesced with its flow)
  WriteNeedsCsum = 1,   // write with plan.hdr: NEEDS_CSUM, the kernel finishes a partial TCP/UDP checksum
  WriteGso = 2,         // write whole with plan.hdr: a TCP super-packet, GSO TCPV4/V6, NEEDS_CSUM
  Segmented = 3,        // no vnet header: plan.segments full-checksum segments were put in the scratch span
  Malformed = 4,        // headers contradict the bytes (truncated, lying lengths): drop and count
  BadChecksum = 5,      // an IPv4 header checksum or a complete TCP/UDP checksum that does not verify
  TooManySegments = 6,  // a super-packet needing more segments than the scratch span holds
  UdpSuperPacket = 7,   // a UDP GSO super-packet (larger than the MTU, not a fragment): its segment size is lost
};

struct InnerPlan {
  InnerVerdict verdict = InnerVerdict::Malformed;
  size_t len = 0;        // bytes to write: the IP total length (trailing padding trimmed)
  bool partial = false;  // the TCP/UDP checksum field held only the pseudo-header sum (CHECKSUM_PARTIAL)
  bool super = false;    // a TCP packet whose payload exceeds one MTU-sized segment
  int segments = 0;      // Segmented: slots written from span.first
  VnetHdr hdr;           // WriteNeedsCsum / WriteGso
};

/**
 * Plans the TUN write of the inner IP packet p[0..len) that passed the receive checks (known peer, VNI, inner
 * source in the peer's subnet). `mtu` is the TUN device's MTU: a TCP packet whose payload is larger than
 * mtu - headers is a super-packet, written whole with gso_size = mtu - headers (vnet) or cut into segments of
 * that size in `scratch` (!vnet, full checksums). A partial checksum is recognised exactly: the field equals
 * the folded pseudo-header sum for this packet's addresses, protocol and length. It is handed to the kernel as
 * NEEDS_CSUM (vnet) or completed in place (!vnet). Any other checksum of a super-packet is verified in full
 * before the packet is written as NEEDS_CSUM (the kernel would not check it again). p may be modified (the
 * checksum field). scratch may be null when vnet is true. `mtu6` is the MTU of IPv6 packets (flannel0's IPv6
 * route MTU, 20 bytes under the device's with an IPv6 underlay); 0 means `mtu`.
 */
InnerPlan planInnerWrite(uint8_t* p, size_t len, size_t mtu, size_t mtu6, bool vnet, const SlotSpan* scratch);

}  // namespace weft
