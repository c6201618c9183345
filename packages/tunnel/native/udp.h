#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "common.h"

// Older libc headers lack the UDP GSO/GRO socket options (Linux 4.18 / 5.0); the values are the kernel's.
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace weft {

constexpr size_t kCmsgStride = 64;       // control buffer per message (one UDP_SEGMENT or UDP_GRO cmsg)
constexpr int kMaxGsoSegments = 64;      // datagrams per GSO send (the kernel allows up to 64 or 128)
constexpr size_t kMaxGsoBytes = 65000;   // UDP payload of one GSO send stays under the 16-bit length field
constexpr int kGroBufs = 8;              // coalesced datagrams read per recvmmsg with UDP_GRO
constexpr size_t kGroBufSize = 65536;    // one coalesced datagram

/** A peer's address as a map key: IPv4 is kept as IPv4-mapped IPv6 so both families share one table. */
struct PeerKey {
  uint8_t addr[16];
  uint16_t port;
  bool operator==(const PeerKey& o) const { return port == o.port && memcmp(addr, o.addr, 16) == 0; }
};
struct PeerKeyHash {
  size_t operator()(const PeerKey& k) const {
    uint64_t a, b;
    memcpy(&a, k.addr, 8);
    memcpy(&b, k.addr + 8, 8);
    return size_t((a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ k.port);
  }
};

/**
 * Peers by index: the address to send to, and the index of each address:port (and address alone) for receives.
 * One table can serve several sockets of one family (sharePeers): a pool of send sockets to the same peers holds
 * one copy instead of one per socket (some 250 bytes per peer each, which at 20,000 peers was tens of MB).
 */
struct PeerTable {
  std::vector<sockaddr_storage> addr;
  std::vector<socklen_t> len;
  std::unordered_map<PeerKey, int, PeerKeyHash> index;
};

/** A non-blocking UDP socket with sendmmsg/recvmmsg batches, peers by index, optional UDP GSO and GRO. */
class NativeUdp : public Napi::ObjectWrap<NativeUdp> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeUdp(const Napi::CallbackInfo& info);
  ~NativeUdp() override;

 private:
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value AddPeer(const Napi::CallbackInfo& info);
  Napi::Value RemovePeer(const Napi::CallbackInfo& info);
  Napi::Value SetBuffers(const Napi::CallbackInfo& info);
  Napi::Value SetGso(const Napi::CallbackInfo& info);
  Napi::Value SetGro(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value SourceOf(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetPending(const Napi::CallbackInfo& info);
  Napi::Value SetPeerByAddress(const Napi::CallbackInfo& info);
  Napi::Value SharePeers(const Napi::CallbackInfo& info);

  bool parseAddress(const std::string& text, uint16_t port, sockaddr_storage* out, socklen_t* len) const;
  int lookup(const sockaddr_storage& sa);
  /** Points msgs_[k] at one receive buffer, the source address slot and optional control space. */
  void prepareRecv(int k, uint8_t* buf, size_t len, sockaddr_storage* from, char* control, size_t controlLen);
  /** One non-blocking recvmmsg into msgs_[0, count): datagrams received; 0 on EAGAIN or an error (in lastErrno_). */
  int recvBatch(int count);
  int recvPlain(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int max);
  int recvGro(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int max);
  int deliverGro(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int n, int max);
  void ensureSlots(size_t n);

  int fd_ = -1;
  int family_ = AF_INET;
  bool gso_ = false, gro_ = false;
  bool peerByAddress_ = false;  // see SetPeerByAddress
  FdPoll poll_;
  std::shared_ptr<PeerTable> peers_ = std::make_shared<PeerTable>();  // shared by sharePeers
  std::vector<sockaddr_storage> slotAddr_;  // source address per slot of the last recv
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<int> ends_;
  std::vector<char> cmsg_;
  // GRO: coalesced datagrams waiting to be cut into slots
  std::vector<uint8_t> groBuf_;
  struct GroPending {
    size_t len, pos, seg;
    int peer;
    int slot;  // index into groAddr_
  };
  std::vector<GroPending> groQueue_;
  size_t groHead_ = 0;
  std::vector<sockaddr_storage> groAddr_;
  int lastErrno_ = 0;
  double rxPackets_ = 0, rxGro_ = 0, rxTruncated_ = 0, rxUnknown_ = 0, txPackets_ = 0, txGsoSends_ = 0,
         txErrors_ = 0, gsoDisabled_ = 0;
};

}  // namespace weft
