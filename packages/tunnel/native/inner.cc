// Receive side: the TUN write of packets a Linux VTEP sent (see inner.h).
//
// Design notes. A kernel VTEP over a virtual link hands over two things a NIC would have finished: whole
// UDP-tunnel GSO super-packets (an inner TCP packet of up to 64 KB, no segment size carried) and partial inner
// checksums (CHECKSUM_PARTIAL: the TCP/UDP checksum field holds the folded pseudo-header sum, nothing more).
//
// Partial or corrupt? The field of a partial packet is a value we can compute from the headers alone: the folded
// pseudo-header sum (addresses, protocol, transport length). So: field == that value -> partial; otherwise the
// checksum is complete and is verified over the whole segment. A partial packet carries no checksum of its data
// at all, so no receiver can find corruption in it (the kernel's own vxlan receive trusts it the same way);
// what must not happen is a complete checksum that fails being passed on as NEEDS_CSUM, which the kernel would
// then trust. That cannot happen here unless the corrupted field equals the pseudo-header sum exactly, a 2^-16
// chance per corrupt packet: the same odds by which TCP's own checksum misses a corruption (RFC 1071).
// A super-packet with a complete checksum is verified in full before its field is reset to the partial value.
//
// Safety: the caller checked the outer source, the VNI and the inner source address once per super-packet. The
// GSO write and the segmentation here both copy the IP header of the super-packet into every segment (only
// lengths, IDs, sequence numbers, flags and checksums change), so the checked addresses hold for each segment.
#include "inner.h"

#include "checksum.h"

namespace weft {

constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kTcpCwr = 0x80;

/** Headers of an inner packet whose transport checksum can be judged: IPv4 (not a fragment) or IPv6 without
 * extension headers, carrying TCP or UDP. */
struct InnerView {
  int version = 0;
  uint8_t proto = 0;
  size_t ipLen = 0, total = 0, l4Len = 0, l4HdrLen = 0, field = 0;  // field: offset of the checksum
};

enum class ViewKind { Opaque, Transport, Malformed, BadIpChecksum };

static ViewKind viewIpv4(const uint8_t* p, size_t len, InnerView* v) {
  if (len < 20) return ViewKind::Malformed;
  v->ipLen = size_t(p[0] & 15) * 4;
  v->total = rd16(p + 2);
  if (v->ipLen < 20 || v->ipLen > len || v->total < v->ipLen || v->total > len) return ViewKind::Malformed;
  if (csumFold(csumAdd(p, v->ipLen, 0)) != 0xffff) return ViewKind::BadIpChecksum;
  if ((rd16(p + 6) & 0x3fff) != 0) return ViewKind::Opaque;  // a fragment: its checksum spans the others
  v->proto = p[9];
  return ViewKind::Transport;
}

static ViewKind viewIpv6(const uint8_t* p, size_t len, InnerView* v) {
  if (len < 40) return ViewKind::Malformed;
  v->ipLen = 40;
  v->total = size_t(rd16(p + 4)) + 40;
  if (v->total > len) return ViewKind::Malformed;
  v->proto = p[6];  // extension headers: Opaque below, the kernel checks those itself
  return ViewKind::Transport;
}

static ViewKind viewInner(const uint8_t* p, size_t len, InnerView* v) {
  if (len < 1) return ViewKind::Malformed;
  v->version = p[0] >> 4;
  v->total = len;
  ViewKind k = v->version == 4 ? viewIpv4(p, len, v) : v->version == 6 ? viewIpv6(p, len, v) : ViewKind::Opaque;
  if (k != ViewKind::Transport) return k;
  v->l4Len = v->total - v->ipLen;
  const uint8_t* l4 = p + v->ipLen;
  if (v->proto == kProtoTcp) {
    if (v->l4Len < 20) return ViewKind::Malformed;
    v->l4HdrLen = size_t(l4[12] >> 4) * 4;
    if (v->l4HdrLen < 20 || v->l4HdrLen > v->l4Len) return ViewKind::Malformed;
    v->field = v->ipLen + 16;
  } else if (v->proto == kProtoUdp) {
    if (v->l4Len < 8 || rd16(l4 + 4) != v->l4Len) return ViewKind::Malformed;  // RFC 768 length agrees with IP's
    v->l4HdrLen = 8;
    v->field = v->ipLen + 6;
  } else {
    return ViewKind::Opaque;
  }
  return ViewKind::Transport;
}

/** One's-complement equality: 0x0000 and 0xffff are the same number. */
static bool sameSum(uint16_t a, uint16_t b) { return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0); }

static bool fullChecksumOk(const uint8_t* p, const InnerView& v, uint64_t pseudo) {
  if (v.proto == kProtoUdp && v.version == 4 && rd16(p + v.field) == 0) return true;  // no checksum (RFC 768)
  return csumFold(csumAdd(p + v.ipLen, v.l4Len, pseudo)) == 0xffff;
}

/** Writes the complete checksum into the field (it held the partial value). */
static void completeChecksum(uint8_t* p, const InnerView& v, uint64_t pseudo) {
  wr16(p + v.field, 0);
  uint16_t c = static_cast<uint16_t>(~csumFold(csumAdd(p + v.ipLen, v.l4Len, pseudo)));
  if (c == 0 && v.proto == kProtoUdp) c = 0xffff;  // 0 would mean "no checksum" (RFC 768)
  wr16(p + v.field, c);
}

static VnetHdr needsCsumHeader(const InnerView& v) {
  VnetHdr h;
  h.flags = kVnetNeedsCsum;
  h.hdrLen = uint16_t(v.ipLen + v.l4HdrLen);
  h.csumStart = uint16_t(v.ipLen);
  h.csumOffset = uint16_t(v.field - v.ipLen);
  return h;
}

InnerPlan planInnerWrite(uint8_t* p, size_t len, size_t mtu, size_t mtu6, bool vnet, const SlotSpan* scratch) {
  InnerPlan plan;
  InnerView v;
  ViewKind kind = viewInner(p, len, &v);
  plan.len = v.total;
  if (kind == ViewKind::Malformed) return plan;
  if (kind == ViewKind::BadIpChecksum) return (plan.verdict = InnerVerdict::BadChecksum, plan);
  plan.verdict = InnerVerdict::Write;
  if (kind == ViewKind::Opaque) return plan;
  // IPv6 is cut at its own MTU: the sender judged its segments against that one (TapSender innerMtu6), and a
  // pod whose MTU lies between the two would refuse segments cut at the device's.
  if (v.version == 6 && mtu6 != 0) mtu = mtu6;
  size_t headers = v.ipLen + v.l4HdrLen;
  size_t gso = mtu > headers ? mtu - headers : 0;
  plan.super = v.l4Len - v.l4HdrLen > gso;
  // UDP larger than the MTU and not fragmented can only be a USO super-packet (the sender would have fragmented
  // a datagram that large): the datagram boundaries were its gso_size, which VXLAN does not carry. Delivering it
  // as one datagram would merge the application's messages, so it is dropped and counted.
  if (plan.super && v.proto == kProtoUdp) return (plan.verdict = InnerVerdict::UdpSuperPacket, plan);
  uint64_t pseudo = pseudoHeaderSum(p, v.version, v.proto, uint32_t(v.l4Len));
  uint16_t partialValue = csumFold(pseudo);
  plan.partial = sameSum(rd16(p + v.field), partialValue);
  if (!plan.partial && !plan.super) return plan;  // complete (or not): verified by coalesce() or by the kernel
  if (plan.super && gso < 8) return (plan.verdict = InnerVerdict::Malformed, plan);  // an MTU with no room
  if (!plan.partial) {
    if (!fullChecksumOk(p, v, pseudo)) return (plan.verdict = InnerVerdict::BadChecksum, plan);
    wr16(p + v.field, partialValue);  // verified: from here on handled like a partial one
  }
  plan.hdr = needsCsumHeader(v);
  if (plan.super) {
    plan.hdr.gsoType = uint8_t((v.version == 4 ? kGsoTcpV4 : kGsoTcpV6) | ((p[v.ipLen + 13] & kTcpCwr) ? kGsoEcn : 0));
    plan.hdr.gsoSize = uint16_t(gso);
  }
  if (vnet) return (plan.verdict = plan.super ? InnerVerdict::WriteGso : InnerVerdict::WriteNeedsCsum, plan);
  if (!plan.super) {
    completeChecksum(p, v, pseudo);
    return plan;  // Write, now with a full checksum
  }
  int n = scratch ? splitPacket(plan.hdr, p, v.total, *scratch) : kSplitNoRoom;
  if (n == kSplitNoRoom) return (plan.verdict = InnerVerdict::TooManySegments, plan);
  if (n < 0) return (plan.verdict = InnerVerdict::Malformed, plan);
  plan.segments = n;
  plan.verdict = InnerVerdict::Segmented;
  return plan;
}

}  // namespace weft
