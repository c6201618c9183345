// NativeTap: open the underlay TAP with UDP-tunnel GSO, build outer headers, write each packet whole.
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "checksum.h"
#include "offload.h"

namespace weft {

namespace {

// Offloads the path needs, with the outer UDP checksum done by the kernel (preferred) or left 0 (IPv4 allows it).
constexpr unsigned kBaseOffloads = kTunFCsum | kTunFTso4 | kTunFTso6 | kTunFUso4 | kTunFUso6 | kTunFUdpTunnelGso;
constexpr size_t kMaxIpLen = 65535;  // the outer IPv4 total length is 16 bits
constexpr uint16_t kMinTcpSegment = 48;  // Linux's TCP_MIN_SND_MSS: no TCP sender cuts smaller

void le16w(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}

/** Completes a checksum the kernel left partial (the field holds the pseudo-header sum); false if out of range. */
bool completeChecksum(uint8_t* ip, size_t len, size_t start, size_t offset) {
  if (start + offset + 2 > len) return false;
  wr16(ip + start + offset, uint16_t(~csumFold(csumAdd(ip + start, len - start, 0))));
  return true;
}

}  // namespace

Napi::Function NativeTap::Init(Napi::Env env) {
  return DefineClass(env, "NativeTap",
                     {InstanceMethod<&NativeTap::SetSource>("setSource"), InstanceMethod<&NativeTap::AddPeer>("addPeer"),
                      InstanceMethod<&NativeTap::RemovePeer>("removePeer"), InstanceMethod<&NativeTap::Send>("send"),
                      InstanceMethod<&NativeTap::Poll>("poll"), InstanceMethod<&NativeTap::StopPoll>("stopPoll"),
                      InstanceMethod<&NativeTap::Close>("close"), InstanceMethod<&NativeTap::Stats>("stats"),
                      InstanceMethod<&NativeTap::FrameHeaders>("frameHeaders"),
                      InstanceAccessor<&NativeTap::GetName>("name"),
                      InstanceAccessor<&NativeTap::GetOuterChecksum>("outerChecksum")});
}

// new NativeTap({ name, netns, encapLength, family, innerMtu, innerMtu6 }): throws with code EINVAL when the
// kernel lacks UDP-tunnel GSO, EPROTONOSUPPORT (syscall TUNSETOFFLOAD) when family 6 lacks the outer checksum
// offload
NativeTap::NativeTap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTap>(info) {
  Napi::Env env = info.Env();
  Args a(info, "NativeTap");
  Napi::Object o = a.options(0, "options");
  std::string name = a.fieldString(o, "name"), netns = a.fieldString(o, "netns");
  encapLen_ = size_t(a.fieldInteger(o, "encapLength", 0, 256, 0));
  family_ = int(a.fieldInteger(o, "family", 4, 6, 4));
  innerMtu_ = size_t(a.fieldInteger(o, "innerMtu", 0, 65535, 0));
  innerMtu6_ = size_t(a.fieldInteger(o, "innerMtu6", 0, 65535, int64_t(innerMtu_)));
  if (!a.ok()) return;
  if (family_ == 5) {
    Napi::RangeError::New(env, "NativeTap: family must be 4 or 6").ThrowAsJavaScriptException();
    return;
  }
  outerLen_ = family_ == 4 ? kOuterHdrLen : kOuterHdrLen6;
  addrLen_ = family_ == 4 ? 4 : 16;
  auto fail = [&](int err, const char* call, const std::string& detail) {
    errnoError(env, err, call, detail).ThrowAsJavaScriptException();
  };
  if (name.size() >= IFNAMSIZ) { fail(ENAMETOOLONG, "TUNSETIFF", name); return; }
  NetnsGuard guard(netns);
  if (guard.error()) { fail(guard.error(), guard.step(), netns); return; }
  fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) { fail(errno, "open", "/dev/net/tun"); return; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  memcpy(ifr.ifr_name, name.data(), name.size());
  int hdrSize = int(kTunnelVnetHdrLen);
  const char* failed = nullptr;
  if (ioctl(fd_, TUNSETIFF, &ifr) != 0) failed = "TUNSETIFF";
  else if (ioctl(fd_, TUNSETVNETHDRSZ, &hdrSize) != 0) failed = "TUNSETVNETHDRSZ";
  else if (ioctl(fd_, TUNSETOFFLOAD, (unsigned long)(kBaseOffloads | kTunFUdpTunnelGsoCsum)) == 0) outerCsum_ = true;
  else if (ioctl(fd_, TUNSETOFFLOAD, (unsigned long)kBaseOffloads) != 0) failed = "TUNSETOFFLOAD";
  if (!failed && ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) failed = "SIOCGIFHWADDR";
  int err = errno;
  if (!failed && family_ == 6 && !outerCsum_) failed = "TUNSETOFFLOAD", err = EPROTONOSUPPORT;
  if (failed) {
    ::close(fd_);
    fd_ = -1;
    { fail(err, failed, name); return; }
  }
  memcpy(mac_, ifr.ifr_hwaddr.sa_data, 6);
  name_ = ifr.ifr_name;
}

NativeTap::~NativeTap() {
  poll_.close();
  if (fd_ >= 0) ::close(fd_);
}

bool NativeTap::parseAddress(Napi::Env env, const char* method, const std::string& text, uint8_t* out) const {
  if (inet_pton(family_ == 4 ? AF_INET : AF_INET6, text.c_str(), out) == 1) return true;
  std::string what = family_ == 4 ? "IPv4" : "IPv6";
  std::string message = std::string(method) + ": not an " + what + " address: " + text;
  Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// setSource(address): the outer source address (this node's underlay address, of the TAP's family)
Napi::Value NativeTap::SetSource(const Napi::CallbackInfo& info) {
  Args a(info, "setSource");
  std::string text = a.string(0, "address");
  if (a.ok()) parseAddress(info.Env(), "setSource", text, source_);
  return info.Env().Undefined();
}

// addPeer(index, address, port): the address of the TAP's family
Napi::Value NativeTap::AddPeer(const Napi::CallbackInfo& info) {
  Args a(info, "addPeer");
  size_t index = size_t(a.integer(0, "index", 0, kMaxPeerIndex));
  std::string text = a.string(1, "address");
  uint16_t port = uint16_t(a.integer(2, "port", 1, 65535));
  if (!a.ok()) return info.Env().Undefined();
  std::array<uint8_t, 18> dst;
  if (!parseAddress(info.Env(), "addPeer", text, dst.data())) return info.Env().Undefined();
  wr16(dst.data() + addrLen_, port);
  if (index >= peerDst_.size()) {
    peerDst_.resize(index + 1);
    peerLive_.resize(index + 1, 0);
  }
  peerDst_[index] = dst;
  peerLive_[index] = 1;
  return info.Env().Undefined();
}

Napi::Value NativeTap::RemovePeer(const Napi::CallbackInfo& info) {
  Args a(info, "removePeer");
  size_t index = size_t(a.integer(0, "index", 0, kMaxPeerIndex));
  if (a.ok() && index < peerLive_.size()) peerLive_[index] = 0;
  return info.Env().Undefined();
}

bool NativeTap::prepare(const VnetHdr& in, uint8_t* pkt, size_t len, int peer, uint16_t sport) {
  // IPv4's total length counts its 20-byte header, IPv6's payload length only what follows the 40.
  size_t maxLen = kMaxIpLen - 8 - (family_ == 4 ? 20 : 0);
  if (len < encapLen_ + 20 || len > maxLen) {
    (len < encapLen_ + 20 ? txMalformed_ : txTooBig_)++;
    return false;
  }
  uint8_t* inner = pkt + encapLen_;
  size_t innerLen = len - encapLen_, udpLen = 8 + len, base = outerLen_ + encapLen_;
  bool gso = in.gsoType != kGsoNone;
  uint8_t gsoBase = in.gsoType & uint8_t(~kGsoEcn);
  if (gso && (in.gsoSize == 0 || in.hdrLen > innerLen || (gsoBase != kGsoTcpV4 && gsoBase != kGsoTcpV6) ||
              !(in.flags & kVnetNeedsCsum) || size_t(in.csumStart) + in.csumOffset + 2 > innerLen)) {
    txMalformed_++;
    return false;
  }
  if (!gso && (in.flags & kVnetNeedsCsum) && !completeChecksum(inner, innerLen, in.csumStart, in.csumOffset)) {
    txMalformed_++;
    return false;
  }
  // Ethernet: to the TAP's own MAC (so the kernel takes it as addressed to this host), from a fixed local MAC.
  uint8_t* e = outer_;
  memcpy(e, mac_, 6);
  static const uint8_t kSrcMac[6] = {0x02, 0x77, 0x65, 0x66, 0x74, 0x00};  // locally administered: "weft"
  memcpy(e + 6, kSrcMac, 6);
  wr16(e + 12, family_ == 4 ? 0x0800 : 0x86dd);
  uint8_t* ip = e + 14;
  size_t ids = gso ? (innerLen - in.hdrLen + in.gsoSize - 1) / in.gsoSize : 1;
  uint8_t* udp = writeOuterIp(ip, peer, udpLen, uint16_t(ids));
  wr16(udp, sport);
  memset(vnet_, 0, sizeof vnet_);
  if (gso) {
    vnet_[0] = kVnetNeedsCsum | (outerCsum_ ? kVnetUdpTunnelCsum : 0);
    vnet_[1] = in.gsoType | (family_ == 4 ? kGsoUdpTunnelIpv4 : kGsoUdpTunnelIpv6);
    le16w(vnet_ + 2, uint16_t(base + in.hdrLen));
    le16w(vnet_ + 4, in.gsoSize);
    le16w(vnet_ + 6, uint16_t(base + in.csumStart));
    le16w(vnet_ + 8, in.csumOffset);
    le16w(vnet_ + 20, uint16_t(udp - outer_));  // outer_th_offset
    le16w(vnet_ + 22, uint16_t(base));     // inner_nh_offset
    // The segmenter adds each segment's length to this pseudo-header sum (0 = no checksum, IPv4 allows it).
    if (outerCsum_) wr16(udp + 6, csumFold(pseudoHeaderSum(ip, family_, 17, uint32_t(udpLen))));
    txSuper_++;
  } else {
    uint64_t pseudo = pseudoHeaderSum(ip, family_, 17, uint32_t(udpLen));
    uint16_t c = uint16_t(~csumFold(csumAdd(pkt, len, csumAdd(udp, 8, pseudo))));
    wr16(udp + 6, c == 0 ? 0xffff : c);  // RFC 768: a computed 0 is sent as all ones
  }
  return true;
}

uint8_t* NativeTap::writeOuterIp(uint8_t* ip, int peer, size_t udpLen, uint16_t ids) {
  const uint8_t* dst = peerDst_[size_t(peer)].data();
  size_t ipLen = family_ == 4 ? 20 : 40;
  if (family_ == 4) {
    ip[0] = 0x45, ip[1] = 0;
    wr16(ip + 2, uint16_t(20 + udpLen));
    wr16(ip + 4, ipId_);
    ipId_ = uint16_t(ipId_ + ids);  // one ID per segment the kernel will cut
    wr16(ip + 6, 0);                // no DF, as the kernel's vxlan sends by default
    ip[8] = kOuterTtl, ip[9] = 17;
    memcpy(ip + 12, source_, 4);
    memcpy(ip + 16, dst, 4);
    ipv4HeaderChecksum(ip, 20);
  } else {
    wr32(ip, 0x60000000u);  // traffic class 0, flow label 0: the kernel's vxlan default
    wr16(ip + 4, uint16_t(udpLen));
    ip[6] = 17, ip[7] = kOuterTtl;
    memcpy(ip + 8, source_, 16);
    memcpy(ip + 24, dst, 16);
  }
  uint8_t* udp = ip + ipLen;
  memcpy(udp + 2, dst + addrLen_, 2);
  wr16(udp + 4, uint16_t(udpLen));
  wr16(udp + 6, 0);
  return udp;
}

bool NativeTap::segmentsBelowReceiverCut(const VnetHdr& in, const uint8_t* pkt, size_t len) const {
  // Below Linux's smallest TCP segment (TCP_MIN_SND_MSS, 48) no sender of ours cut it: left to prepare(), which
  // refuses a zero size, and never split here (a size of 1 would want 64 K slots of scratch, kept for good).
  if (in.gsoType == kGsoNone || in.gsoSize < kMinTcpSegment || len < encapLen_ + size_t(in.csumStart) + 20)
    return false;
  size_t mtu = (pkt[encapLen_] >> 4) == 6 ? innerMtu6_ : innerMtu_;
  const uint8_t* tcp = pkt + encapLen_ + in.csumStart;
  size_t headers = size_t(in.csumStart) + size_t(tcp[12] >> 4) * 4;
  return mtu != 0 && headers + in.gsoSize < mtu;
}

bool NativeTap::sendSplit(const VnetHdr& in, uint8_t* pkt, size_t len, int peer, uint16_t sport) {
  size_t slotSize = encapLen_ + (innerMtu_ > innerMtu6_ ? innerMtu_ : innerMtu6_);  // each segment is below it
  size_t slots = (len - encapLen_) / in.gsoSize + 1;  // gsoSize >= kMinTcpSegment (segmentsBelowReceiverCut)
  if (splitLens_.size() < slots) splitLens_.resize(slots);
  if (splitSlab_.size() < slots * slotSize) splitSlab_.resize(slots * slotSize);
  SlotSpan out{splitSlab_.data(), slotSize, encapLen_, splitLens_.data(), nullptr, 0, int(slots)};
  int n = splitPacket(in, pkt + encapLen_, len - encapLen_, out);
  if (n < 0) {
    txMalformed_++;
    return true;
  }
  txSplit_++;
  VnetHdr plain;
  for (int k = 0; k < n; k++) {
    uint8_t* seg = splitSlab_.data() + size_t(k) * slotSize;
    size_t segLen = encapLen_ + size_t(splitLens_[size_t(k)]);
    memcpy(seg, pkt, encapLen_);  // the format's headers (VXLAN and inner Ethernet) are the same for every segment
    if (!prepare(plain, seg, segLen, peer, sport)) continue;
    if (!writeFrame(seg, segLen)) {
      if (k == 0) return txSplit_--, false;
      txErrors_++;  // the rest of this packet is lost; TCP retransmits it
      break;
    }
    txPackets_++;
  }
  return true;
}

bool NativeTap::writeFrame(const uint8_t* pkt, size_t len) {
  struct iovec iov[3] = {{vnet_, sizeof vnet_}, {outer_, outerLen_}, {const_cast<uint8_t*>(pkt), len}};
  for (;;) {
    if (::writev(fd_, iov, 3) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    txErrors_++;  // e.g. EINVAL for metadata the kernel refuses: counted, the batch goes on
    return true;
  }
}

// send(slab, offsets, lengths, peers, start, count, slotSize, ports) -> index of the first packet not written
Napi::Value NativeTap::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "send");
  size_t slabLen, offLen, lenLen, peerLen, portLen;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  int32_t* offsets = a.int32s(1, "offsets", &offLen);
  int32_t* lengths = a.int32s(2, "lengths", &lenLen);
  int32_t* peers = a.int32s(3, "peers", &peerLen);
  int start = int(a.integer(4, "start", 0, kMaxSlots)), count = int(a.integer(5, "count", 0, kMaxSlots));
  size_t slotSize = size_t(a.integer(6, "slotSize", 64, kMaxSlotSize));
  int32_t* ports = a.int32s(7, "ports", &portLen);
  if (!a.ok() || !a.packets(slabLen, offsets, lengths, start, count, {offLen, lenLen, peerLen, portLen})) {
    return env.Undefined();
  }
  if (fd_ < 0) return (errnoError(env, EBADF, "writev", "device closed").ThrowAsJavaScriptException(), env.Undefined());
  int i = start;
  for (; i < count; i++) {
    int p = peers[i];
    if (p < 0) continue;
    if (size_t(p) >= peerLive_.size() || !peerLive_[size_t(p)]) {
      txUnknownPeer_++;
      continue;
    }
    uint8_t* slot = slab + size_t(offsets[i]) - size_t(offsets[i]) % slotSize;
    uint8_t* pkt = slab + offsets[i];
    if (pkt < slot + kVnetHdrLen) {  // the packet would overlap the slot's virtio header: not a whole-mode slot
      txMalformed_++;
      continue;
    }
    VnetHdr in = decodeVnetHdr(slot);
    if (segmentsBelowReceiverCut(in, pkt, size_t(lengths[i]))) {
      if (!sendSplit(in, pkt, size_t(lengths[i]), p, uint16_t(ports[i]))) break;
      continue;
    }
    if (!prepare(in, pkt, size_t(lengths[i]), p, uint16_t(ports[i]))) continue;
    if (!writeFrame(pkt, size_t(lengths[i]))) break;
    txPackets_++;
  }
  return Napi::Number::New(env, i);
}

// frameHeaders(slab, offset, length, slotSize, peer, port) -> the virtio and outer headers send() would write
// for that packet written whole (a copy; null when it would be dropped); completes a partial inner checksum as
// send() does. A super-packet that send() would cut here (segmentsBelowReceiverCut) is answered as if written whole.
// Counters and the IPv4 ID sequence are left as they were.
Napi::Value NativeTap::FrameHeaders(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "frameHeaders");
  size_t slabLen;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  size_t offset = size_t(a.integer(1, "offset", 0, kMaxSlots * kMaxSlotSize));
  size_t len = size_t(a.integer(2, "length", 1, 65535));
  size_t slotSize = size_t(a.integer(3, "slotSize", 64, kMaxSlotSize));
  int peer = int(a.integer(4, "peer", 0, kMaxPeerIndex));
  uint16_t port = uint16_t(a.integer(5, "port", 0, 65535));
  if (!a.ok()) return env.Undefined();
  size_t slotStart = offset - offset % slotSize;
  if (offset + len > slabLen || offset < slotStart + kVnetHdrLen) {
    Napi::RangeError::New(env, "frameHeaders: packet outside the slab or over its slot's header")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (size_t(peer) >= peerLive_.size() || !peerLive_[size_t(peer)]) return env.Null();
  double saved[3] = {txSuper_, txMalformed_, txTooBig_};
  uint16_t id = ipId_;
  bool ok = prepare(decodeVnetHdr(slab + slotStart), slab + offset, len, peer, port);
  txSuper_ = saved[0], txMalformed_ = saved[1], txTooBig_ = saved[2], ipId_ = id;
  if (!ok) return env.Null();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, sizeof vnet_ + outerLen_);
  memcpy(out.Data(), vnet_, sizeof vnet_);
  memcpy(out.Data() + sizeof vnet_, outer_, outerLen_);
  return out;
}

Napi::Value NativeTap::Poll(const Napi::CallbackInfo& info) { return pollEntry(info, poll_, fd_); }

Napi::Value NativeTap::StopPoll(const Napi::CallbackInfo& info) {
  poll_.stop();
  return info.Env().Undefined();
}

Napi::Value NativeTap::Close(const Napi::CallbackInfo& info) {
  poll_.close();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

Napi::Value NativeTap::Stats(const Napi::CallbackInfo& info) {
  return statsObject(info.Env(), {{"txPackets", txPackets_}, {"txSuperPackets", txSuper_}, {"txErrors", txErrors_},
                                  {"txTooBig", txTooBig_}, {"txMalformed", txMalformed_},
                                  {"txUnknownPeer", txUnknownPeer_}, {"txSplitSuperPackets", txSplit_}});
}

Napi::Value NativeTap::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value NativeTap::GetOuterChecksum(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), outerCsum_);
}

}  // namespace weft
