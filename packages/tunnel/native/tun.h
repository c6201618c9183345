#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "common.h"
#include "inner.h"
#include "offload.h"

namespace weft {

/**
 * A TUN device (IFF_TUN | IFF_NO_PI), non-blocking, optionally multi-queue and IFF_VNET_HDR with offloads.
 * JS: new NativeTun({ name, multiQueue, vnetHdr, offloads, netns }); see src/native.ts for the contract.
 */
class NativeTun : public Napi::ObjectWrap<NativeTun> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeTun(const Napi::CallbackInfo& info);
  ~NativeTun() override;

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value SetOffload(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetPending(const Napi::CallbackInfo& info);

  int readPlain(uint8_t* slab, size_t slabLen, size_t slotSize, size_t headroom, int32_t* lengths, int max);
  int readVnet(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int max);
  /** Whole mode (tun_whole.cc): one packet per slot, its virtio header in the slot's first kVnetHdrLen bytes. */
  int readWhole(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int max);
  bool writeOne(const uint8_t* p, size_t len, bool vnetZeroHdr);
  bool writeWithHdr(const VnetHdr& h, const uint8_t* p, size_t len);
  /** Writes the packet at slab+off per its plan; false when the device would block (retry from this packet). */
  bool writePlanned(const InnerPlan& plan, const uint8_t* p);
  /** With offloads: a run of ordinary packets from i, coalesced where possible; returns packets consumed or -1. */
  int writeRun(uint8_t* slab, const int32_t* offsets, const int32_t* lengths, const int32_t* peers, int i, int count,
               size_t firstLen);
  const SlotSpan* segmentScratch();
  bool writeMerged(const PacketRef* run, int used, size_t hdrLen);

  int fd_ = -1;
  bool vnet_ = false;
  bool whole_ = false;  // vnet mode without splitting: see readWhole
  std::string name_;
  FdPoll poll_;
  std::vector<uint8_t> scratch_;   // one super-packet read from the kernel (vnet mode)
  size_t pendingLen_ = 0;          // a super-packet in scratch_ that did not fit the previous batch
  uint8_t mergedHdr_[kMergedHeaderMax];  // virtio + IP + TCP headers of a coalesced write (payloads gathered by writev)
  size_t mtu_ = 1500;                  // gso_size of super-packets written whole = mtu_ - headers
  size_t mtu6_ = 0;                    // the same for IPv6 packets (flannel0's IPv6 route MTU); 0: mtu_
  std::vector<uint8_t> segSlab_;       // segments of a super-packet written without offloads
  std::vector<int32_t> segLengths_;
  SlotSpan segSpan_{};
  int lastErrno_ = 0;
  // counters, exported by Stats() in this order
  double rxPackets_ = 0, rxSuper_ = 0, rxMalformed_ = 0, txPackets_ = 0, txSuper_ = 0, txCsumDrops_ = 0,
         txErrors_ = 0, rxTooManySegments_ = 0;
  // receive side (TUN writes of decapsulated packets): see InnerVerdict
  double txGsoWhole_ = 0, txPartialCsum_ = 0, txSegmentedSuper_ = 0, txMalformed_ = 0, txTooManySegments_ = 0,
         txUdpSuper_ = 0;
};

/** Pure offload functions exposed for tests: splitSuperPacket(buf, ...) and coalescePackets(...). */
void InitOffloadFunctions(Napi::Env env, Napi::Object exports);

}  // namespace weft
