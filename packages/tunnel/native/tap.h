// NativeTap: the send side of the super-packet path. Each encapsulated packet (outer Ethernet + IPv4 + UDP built
// here, the format's headers and the inner packet from the slab) is written whole into a TAP device of weft's
// own; the kernel routes it out of the underlay interface and segments it there (UDP-tunnel GSO, Linux >= 6.17).
//
// Design notes:
// - Why a TAP: the kernel accepts UDP-tunnel GSO metadata only from a vnet header on TUN/TAP writes, and an L3
//   TUN refuses it (its check assumes an Ethernet header before the outer IP); AF_PACKET's vnet header is too
//   short for the tunnel fields. A frame entering the TAP is an ordinary received frame: its destination MAC
//   must be the TAP's (read once here with SIOCGIFHWADDR), and the TAP needs forwarding, accept_local (the
//   outer source is our own address) and rp_filter 0; the TypeScript side sets those sysctls on this device
//   only. Forwarding decrements the TTL, so frames leave here with TTL 65 and reach the wire with 64.
// - One TAP carries one outer family (`family` 4 or 6): IPv6 outer headers are 14 + 40 + 8 bytes, hop limit 65
//   for the same reason. IPv6 receivers drop zero UDP checksums by default (the kernel's vxlan has
//   udp6zerocsumrx off), so an IPv6 TAP needs TUN_F_UDP_TUNNEL_GSO_CSUM and the open fails without it.
// - Per packet the slot's first kVnetHdrLen bytes hold the virtio header the TUN read returned for the inner
//   packet (TunDevice whole mode): it gives the inner GSO type, size and checksum offsets, which are shifted
//   by the outer headers into a 24-byte virtio_net_hdr_v1_hash_tunnel.
// - Packets without GSO get their inner checksum completed (if it was left partial) and a full outer UDP
//   checksum here, so they are correct on the wire whatever the underlay device offloads.
// - The outer UDP source port comes from ports[i] (a hash of the inner flow, computed by the caller).
// - VXLAN carries no segment size: the receiver re-cuts a super-packet at its overlay MTU (`innerMtu`). A pod
//   with a smaller MTU sends smaller segments; re-cut larger, they exceed its peer pod's MTU and the receiving
//   node drops them with ICMP too-big that the sender cannot act on (TCP stalls). Such super-packets are cut
//   here into full-checksum segments and sent as plain frames (txSplitSuperPackets counts them). IPv6 pod
//   routes carry a lower MTU (`innerMtu6`): segments at that size are normal and stay whole.
#pragma once
#include <napi.h>

#include <array>
#include <cstdint>
#include <vector>

#include "common.h"
#include "offload.h"

namespace weft {

// Linux 6.17 values (include/uapi/linux/if_tun.h, virtio_net.h); Debian's headers are older.
constexpr unsigned kTunFCsum = 0x01, kTunFTso4 = 0x02, kTunFTso6 = 0x04, kTunFUso4 = 0x20, kTunFUso6 = 0x40;
constexpr unsigned kTunFUdpTunnelGso = 0x80, kTunFUdpTunnelGsoCsum = 0x100;
constexpr uint8_t kGsoUdpTunnelIpv4 = 0x20, kGsoUdpTunnelIpv6 = 0x40;
constexpr uint8_t kVnetUdpTunnelCsum = 0x08;     // VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM: outer UDP checksum wanted
constexpr size_t kTunnelVnetHdrLen = 24;         // 12 (virtio_net_hdr_v1) + 8 (hash) + outer_th + inner_nh
constexpr size_t kOuterHdrLen = 42;              // 14 Ethernet + 20 IPv4 + 8 UDP
constexpr size_t kOuterHdrLen6 = 62;             // 14 Ethernet + 40 IPv6 + 8 UDP
constexpr uint8_t kOuterTtl = 65;                // one less after the kernel forwards it out of the underlay

class NativeTap : public Napi::ObjectWrap<NativeTap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeTap(const Napi::CallbackInfo& info);
  ~NativeTap() override;

 private:
  Napi::Value SetSource(const Napi::CallbackInfo& info);
  Napi::Value AddPeer(const Napi::CallbackInfo& info);
  Napi::Value RemovePeer(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetOuterChecksum(const Napi::CallbackInfo& info);
  Napi::Value FrameHeaders(const Napi::CallbackInfo& info);

  /** Parses `text` as an address of this TAP's family into out (addrLen_ bytes); false after throwing a RangeError
   * "<method>: not an IPv4/IPv6 address: <text>". */
  bool parseAddress(Napi::Env env, const char* method, const std::string& text, uint8_t* out) const;
  /** Fills vnet_/outer_ for one packet with inner virtio header `in`; false when it must be dropped (counted). */
  bool prepare(const VnetHdr& in, uint8_t* pkt, size_t len, int peer, uint16_t sport);
  /** Whether a super-packet's segments are smaller than the receiver's re-cut (innerMtu_, innerMtu6_) makes them. */
  bool segmentsBelowReceiverCut(const VnetHdr& in, const uint8_t* pkt, size_t len) const;
  /** Cuts a super-packet into full-checksum segments here and writes each as a plain frame; false when the
   * kernel would block on the first one (the packet is retried), true otherwise (failures counted). */
  bool sendSplit(const VnetHdr& in, uint8_t* pkt, size_t len, int peer, uint16_t sport);
  /** Writes the outer IPv4 or IPv6 header and the UDP header (checksum 0) at ip; returns the UDP header. */
  uint8_t* writeOuterIp(uint8_t* ip, int peer, size_t udpLen, uint16_t ids);
  /** writev of vnet_, outer_ and the packet: false when the kernel would block. */
  bool writeFrame(const uint8_t* pkt, size_t len);

  int fd_ = -1;
  bool outerCsum_ = false;  // TUN_F_UDP_TUNNEL_GSO_CSUM accepted: the kernel fills outer UDP checksums
  size_t encapLen_ = 0;     // bytes between the outer UDP header and the inner IP header (VXLAN: 8 + 14)
  size_t innerMtu_ = 0;     // inner IPv4: segments below this are split here (the receiver's cut; 0: never)
  size_t innerMtu6_ = 0;    // inner IPv6: the same, at the MTU of the IPv6 overlay routes (0: never)
  std::vector<uint8_t> splitSlab_;  // sendSplit's segments, one slot of encapLen_ + max(innerMtu_, innerMtu6_) each
  std::vector<int32_t> splitLens_;
  int family_ = 4;          // outer IP version
  size_t outerLen_ = kOuterHdrLen;
  size_t addrLen_ = 4;
  std::string name_;
  uint8_t mac_[6] = {0};
  uint8_t source_[16] = {0};
  uint16_t ipId_ = 0;
  std::vector<std::array<uint8_t, 18>> peerDst_;  // per peer: address (4 or 16) and UDP port (2), network order
  std::vector<uint8_t> peerLive_;
  uint8_t vnet_[kTunnelVnetHdrLen];
  uint8_t outer_[kOuterHdrLen6];
  FdPoll poll_;
  double txPackets_ = 0, txSuper_ = 0, txErrors_ = 0, txTooBig_ = 0, txMalformed_ = 0, txUnknownPeer_ = 0;
  double txSplit_ = 0;  // super-packets cut here because their segments were below the receiver's cut
};

}  // namespace weft
