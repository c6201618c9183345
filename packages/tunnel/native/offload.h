// TCP segmentation (TUN read side) and coalescing (TUN write side) for IFF_VNET_HDR devices.
// Pure functions over caller memory: no file descriptors, so they are tested without a kernel.
#pragma once
#include <cstddef>
#include <cstdint>

namespace weft {

// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), little-endian on x86 (legacy virtio, host order).
constexpr size_t kVnetHdrLen = 10;
constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoTcpV6 = 4, kGsoEcn = 0x80;

struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gsoType = 0;
  uint16_t hdrLen = 0;
  uint16_t gsoSize = 0;
  uint16_t csumStart = 0;
  uint16_t csumOffset = 0;
};

VnetHdr decodeVnetHdr(const uint8_t* p);
void encodeVnetHdr(const VnetHdr& h, uint8_t* p);

/** Where segments go: slot i starts at base + i*slotSize + headroom and holds at most slotSize-headroom bytes. */
struct SlotSpan {
  uint8_t* base;
  size_t slotSize;
  size_t headroom;
  int32_t* lengths;  // lengths[i] is set for each slot written
  int32_t* offsets;  // offsets[i] = i*slotSize + headroom (may be null)
  int first;         // first free slot
  int limit;         // one past the last usable slot
};

constexpr int kSplitMalformed = -1;  // the packet is not a well-formed super-packet: drop it and count
constexpr int kSplitNoRoom = -2;     // it is fine but needs more free slots than `out` has

/**
 * Turns one packet read from a vnet_hdr TUN (header h, IP packet pkt[0..len)) into plain IP packets in `out`:
 * a TCPv4/TCPv6 super-packet becomes gso_size-sized segments with fixed IP lengths, IDs, sequence numbers, flags
 * and full checksums; a non-GSO packet with NEEDS_CSUM gets its checksum completed. Returns the number of slots
 * written (from out.first), kSplitMalformed or kSplitNoRoom. `pkt` is modified (its checksum field).
 */
int splitPacket(const VnetHdr& h, uint8_t* pkt, size_t len, const SlotSpan& out);

/** Why coalesce() consumed a packet without merging it. */
enum class CoalesceResult { Merged, Single, BadChecksum };

struct PacketRef {
  const uint8_t* data;
  size_t len;
};

/** Room for a merged packet's headers: virtio header + IPv6 (40) + TCP with options (60). */
constexpr size_t kMergedHeaderMax = kVnetHdrLen + 40 + 60;

/**
 * Plans the merge of pkts[0], pkts[1], ... (consecutive in-order segments of one TCP flow with equal headers) into
 * one super-packet for a GSO write to the TUN. Returns how many packets it covers (>= 1) and sets *why. When
 * merged, hdr[0..*hdrLen) gets the virtio header and the merged IP/TCP headers; the super-packet is those bytes
 * followed by each packet's TCP payload (pkts[i].data + headerLength(pkts[0]) ..), which the caller gathers with
 * writev, so payloads are never copied here. *hdrLen is 0 when pkts[0] should be written alone.
 * A packet whose IPv4 header or TCP/UDP checksum is wrong is returned alone with why = BadChecksum: drop it.
 */
int coalesce(const PacketRef* pkts, int count, uint8_t* hdr, size_t* hdrLen, CoalesceResult* why);

/** Length of the IP + TCP headers of a packet coalesce() merged (where its payload starts). */
size_t tcpHeaderLength(const uint8_t* pkt);

/** True when the TCP or UDP checksum of an IPv4/IPv6 packet verifies (other protocols: true). */
bool transportChecksumOk(const uint8_t* pkt, size_t len);

}  // namespace weft
