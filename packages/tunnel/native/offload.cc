// Segmentation and coalescing of TCP super-packets for IFF_VNET_HDR TUN devices.
//
// Design notes: the kernel hands a vnet_hdr TUN reader up to 64 KB TCP "super-packets" (TSO) whose TCP checksum
// field holds only the pseudo-header sum (NEEDS_CSUM). splitPacket() cuts one into gso_size segments the way the
// kernel's own GSO would: copy the headers, advance the sequence number, keep FIN/PSH on the last segment only and
// CWR on the first only, bump the IPv4 ID, and compute full checksums, so each segment is an ordinary packet a
// peer can deliver without offloads. coalesce() is the receive-side inverse (like the kernel's tcp_gro_receive):
// segments of one flow with identical headers and contiguous sequence numbers are merged, and the result is written
// to the TUN with a GSO virtio header so the kernel's TCP stack sees one large packet. Checksums of the inputs are
// verified first, since the merged packet's checksum is recomputed by the kernel and would hide corruption.
#include "offload.h"

#include <cstring>

#include "checksum.h"

namespace weft {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksum.h and the virtio header assume little-endian");

constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpCwr = 0x80;
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17;

static uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
static void putLe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}

VnetHdr decodeVnetHdr(const uint8_t* p) {
  VnetHdr h;
  h.flags = p[0];
  h.gsoType = p[1];
  h.hdrLen = le16(p + 2);
  h.gsoSize = le16(p + 4);
  h.csumStart = le16(p + 6);
  h.csumOffset = le16(p + 8);
  return h;
}

void encodeVnetHdr(const VnetHdr& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gsoType;
  putLe16(p + 2, h.hdrLen);
  putLe16(p + 4, h.gsoSize);
  putLe16(p + 6, h.csumStart);
  putLe16(p + 8, h.csumOffset);
}

static int splitPlain(const VnetHdr& h, uint8_t* pkt, size_t len, const SlotSpan& out) {
  if (len > out.slotSize - out.headroom) return kSplitMalformed;
  if (out.first >= out.limit) return kSplitNoRoom;
  if (h.flags & kVnetNeedsCsum) {
    size_t start = h.csumStart, field = start + h.csumOffset;
    if (field + 2 > len) return kSplitMalformed;
    uint16_t c = static_cast<uint16_t>(~csumFold(csumAdd(pkt + start, len - start, 0)));
    if (c == 0 && h.csumOffset == 6) c = 0xffff;  // UDP: 0 would mean "no checksum" (RFC 768)
    wr16(pkt + field, c);
  }
  size_t at = size_t(out.first) * out.slotSize + out.headroom;
  memcpy(out.base + at, pkt, len);
  out.lengths[out.first] = int32_t(len);
  if (out.offsets) out.offsets[out.first] = int32_t(at);
  return 1;
}

/** Validates a TCP super-packet's headers; on success sets the IP and TCP header lengths. */
static bool tcpSuperHeaders(const VnetHdr& h, const uint8_t* pkt, size_t len, int version, size_t* ipLen,
                            size_t* tcpLen) {
  size_t ip = h.csumStart;
  if (version == 4) {
    if ((pkt[0] >> 4) != 4 || size_t(pkt[0] & 15) * 4 != ip || ip < 20 || pkt[9] != kProtoTcp) return false;
  } else {
    if ((pkt[0] >> 4) != 6 || ip < 40 || (ip == 40 && pkt[6] != kProtoTcp)) return false;
  }
  if (h.csumOffset != 16 || ip + 20 > len) return false;
  size_t tcp = size_t(pkt[ip + 12] >> 4) * 4;
  if (tcp < 20 || ip + tcp >= len) return false;
  *ipLen = ip;
  *tcpLen = tcp;
  return true;
}

static void fixSegment(uint8_t* seg, size_t segLen, size_t ipLen, int version, uint16_t id, uint32_t seq,
                       uint8_t flags) {
  if (version == 4) {
    wr16(seg + 2, uint16_t(segLen));
    wr16(seg + 4, id);
    ipv4HeaderChecksum(seg, ipLen);
  } else {
    wr16(seg + 4, uint16_t(segLen - 40));
  }
  uint8_t* tcp = seg + ipLen;
  wr32(tcp + 4, seq);
  tcp[13] = flags;
  tcp[16] = tcp[17] = 0;
  uint64_t sum = pseudoHeaderSum(seg, version, kProtoTcp, uint32_t(segLen - ipLen));
  wr16(tcp + 16, static_cast<uint16_t>(~csumFold(csumAdd(tcp, segLen - ipLen, sum))));
}

int splitPacket(const VnetHdr& h, uint8_t* pkt, size_t len, const SlotSpan& out) {
  if (len < 20) return kSplitMalformed;
  uint8_t gso = h.gsoType & uint8_t(~kGsoEcn);
  if (gso == kGsoNone) return splitPlain(h, pkt, len, out);
  if (gso != kGsoTcpV4 && gso != kGsoTcpV6) return kSplitMalformed;
  int version = gso == kGsoTcpV4 ? 4 : 6;
  size_t ipLen, tcpLen;
  if (!tcpSuperHeaders(h, pkt, len, version, &ipLen, &tcpLen)) return kSplitMalformed;
  size_t hdr = ipLen + tcpLen, payload = len - hdr, mss = h.gsoSize;
  if (mss == 0 || hdr + mss > out.slotSize - out.headroom) return kSplitMalformed;
  int nseg = int((payload + mss - 1) / mss);
  if (nseg > out.limit - out.first) return kSplitNoRoom;
  uint32_t seq = rd32(pkt + ipLen + 4);
  uint16_t id = version == 4 ? rd16(pkt + 4) : 0;
  uint8_t flags = pkt[ipLen + 13];
  for (int i = 0; i < nseg; i++) {
    size_t at = size_t(out.first + i) * out.slotSize + out.headroom;
    uint8_t* seg = out.base + at;
    size_t segPay = payload - size_t(i) * mss < mss ? payload - size_t(i) * mss : mss;
    memcpy(seg, pkt, hdr);
    memcpy(seg + hdr, pkt + hdr + size_t(i) * mss, segPay);
    uint8_t f = flags;
    if (i != nseg - 1) f &= uint8_t(~(kTcpFin | kTcpPsh));
    if (i != 0) f &= uint8_t(~kTcpCwr);
    fixSegment(seg, hdr + segPay, ipLen, version, uint16_t(id + i), seq + uint32_t(i * mss), f);
    out.lengths[out.first + i] = int32_t(hdr + segPay);
    if (out.offsets) out.offsets[out.first + i] = int32_t(at);
  }
  return nseg;
}

/** Lengths and sequence number of a packet that may join a GRO merge: IPv4 without options or IPv6 without
 * extension headers, not fragmented, carrying TCP. */
struct TcpView {
  int version;
  size_t ipLen, tcpLen, payload;
  uint32_t seq;
  uint8_t flags;
};

static bool tcpView(const uint8_t* p, size_t len, TcpView* v) {
  if (len < 40) return false;
  v->version = p[0] >> 4;
  if (v->version == 4) {
    if ((p[0] & 15) != 5 || p[9] != kProtoTcp || rd16(p + 2) != len || (rd16(p + 6) & 0x3fff) != 0) return false;
    v->ipLen = 20;
  } else if (v->version == 6) {
    if (len < 60 || p[6] != kProtoTcp || size_t(rd16(p + 4)) + 40 != len) return false;
    v->ipLen = 40;
  } else {
    return false;
  }
  const uint8_t* tcp = p + v->ipLen;
  v->tcpLen = size_t(tcp[12] >> 4) * 4;
  if (v->tcpLen < 20 || v->ipLen + v->tcpLen > len) return false;
  v->payload = len - v->ipLen - v->tcpLen;
  v->seq = rd32(tcp + 4);
  v->flags = tcp[13];
  return true;
}

/** Same flow and identical headers apart from lengths, IDs, checksums, sequence number and PSH. */
static bool sameHeaders(const uint8_t* a, const TcpView& va, const uint8_t* b, const TcpView& vb) {
  if (va.version != vb.version || va.tcpLen != vb.tcpLen) return false;
  if (va.version == 4) {
    if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40) || memcmp(a + 12, b + 12, 8) != 0)
      return false;
  } else if (memcmp(a, b, 4) != 0 || a[7] != b[7] || memcmp(a + 8, b + 8, 32) != 0) {
    return false;
  }
  const uint8_t *ta = a + va.ipLen, *tb = b + vb.ipLen;
  return memcmp(ta, tb, 4) == 0 && memcmp(ta + 8, tb + 8, 5) == 0 && memcmp(ta + 14, tb + 14, 2) == 0 &&
         memcmp(ta + 18, tb + 18, va.tcpLen - 18) == 0;
}

bool transportChecksumOk(const uint8_t* p, size_t len) {
  if (len < 20) return true;
  int version = p[0] >> 4;
  size_t ipLen, total;
  uint8_t proto;
  if (version == 4) {
    ipLen = size_t(p[0] & 15) * 4;
    total = rd16(p + 2);
    if (ipLen < 20 || total > len || total < ipLen) return false;
    if (csumFold(csumAdd(p, ipLen, 0)) != 0xffff) return false;
    if ((rd16(p + 6) & 0x3fff) != 0) return true;  // a fragment: the transport checksum spans fragments
    proto = p[9];
  } else if (version == 6) {
    if (len < 40) return false;
    ipLen = 40;
    total = size_t(rd16(p + 4)) + 40;
    if (total > len) return false;
    proto = p[6];
  } else {
    return true;
  }
  if (proto != kProtoTcp && proto != kProtoUdp) return true;
  size_t l4 = total - ipLen;
  if (l4 < (proto == kProtoTcp ? 20u : 8u)) return false;
  if (proto == kProtoUdp && version == 4 && rd16(p + ipLen + 6) == 0) return true;  // no checksum (RFC 768)
  uint64_t sum = pseudoHeaderSum(p, version, proto, uint32_t(l4));
  return csumFold(csumAdd(p + ipLen, l4, sum)) == 0xffff;
}

static size_t writeMergedHeader(const PacketRef& first, const TcpView& v, uint8_t lastFlags, size_t total,
                                uint8_t* out) {
  size_t hdr = v.ipLen + v.tcpLen;
  uint8_t* p = out + kVnetHdrLen;
  memcpy(p, first.data, hdr);
  if (v.version == 4) {
    wr16(p + 2, uint16_t(total));
    ipv4HeaderChecksum(p, v.ipLen);
  } else {
    wr16(p + 4, uint16_t(total - 40));
  }
  uint8_t* tcp = p + v.ipLen;
  tcp[13] = uint8_t(v.flags | (lastFlags & kTcpPsh));
  // NEEDS_CSUM: the field holds the folded pseudo-header sum, not complemented; the kernel finishes it.
  wr16(tcp + 16, csumFold(pseudoHeaderSum(p, v.version, kProtoTcp, uint32_t(total - v.ipLen))));
  VnetHdr h;
  h.flags = kVnetNeedsCsum;
  h.gsoType = v.version == 4 ? kGsoTcpV4 : kGsoTcpV6;
  h.hdrLen = uint16_t(hdr);
  h.gsoSize = uint16_t(v.payload);
  h.csumStart = uint16_t(v.ipLen);
  h.csumOffset = 16;
  encodeVnetHdr(h, out);
  return kVnetHdrLen + hdr;
}

size_t tcpHeaderLength(const uint8_t* pkt) {
  size_t ip = pkt[0] >> 4 == 4 ? size_t(pkt[0] & 15) * 4 : 40;
  return ip + size_t(pkt[ip + 12] >> 4) * 4;
}

int coalesce(const PacketRef* pkts, int count, uint8_t* hdr, size_t* hdrLen, CoalesceResult* why) {
  *hdrLen = 0;
  *why = CoalesceResult::Single;
  if (!transportChecksumOk(pkts[0].data, pkts[0].len)) {
    *why = CoalesceResult::BadChecksum;
    return 1;
  }
  TcpView a;
  if (!tcpView(pkts[0].data, pkts[0].len, &a) || a.payload == 0 || a.flags != kTcpAck) return 1;
  size_t total = pkts[0].len;
  uint32_t next = a.seq + uint32_t(a.payload);
  uint8_t lastFlags = a.flags;
  int n = 1;
  while (n < count) {
    TcpView b;
    const PacketRef& pb = pkts[n];
    if (!tcpView(pb.data, pb.len, &b) || !sameHeaders(pkts[0].data, a, pb.data, b)) break;
    if (b.seq != next || b.payload == 0 || b.payload > a.payload) break;
    if ((b.flags & uint8_t(~kTcpPsh)) != kTcpAck) break;
    if (total + b.payload > 65535) break;
    if (!transportChecksumOk(pb.data, pb.len)) break;  // the next call drops it
    total += b.payload;
    next += uint32_t(b.payload);
    lastFlags = b.flags;
    n++;
    if (b.payload < a.payload || (b.flags & kTcpPsh)) break;
  }
  if (n == 1) return 1;
  *hdrLen = writeMergedHeader(pkts[0], a, lastFlags, total, hdr);
  *why = CoalesceResult::Merged;
  return n;
}

}  // namespace weft
