// NativeTun: open/attach a TUN device, batched non-blocking reads and writes, offload splitting/coalescing.
#include "tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "offload.h"

namespace weft {

constexpr size_t kScratch = 65536 + 4096;  // a TSO super-packet (<= 64 KB of IP) plus the virtio header
constexpr int kMaxRun = 64;                // packets considered for one coalesced write

Napi::Function NativeTun::Init(Napi::Env env) {
  return DefineClass(env, "NativeTun",
                     {InstanceMethod<&NativeTun::Read>("read"), InstanceMethod<&NativeTun::Write>("write"),
                      InstanceMethod<&NativeTun::SetOffload>("setOffload"), InstanceMethod<&NativeTun::Poll>("poll"),
                      InstanceMethod<&NativeTun::StopPoll>("stopPoll"), InstanceMethod<&NativeTun::Close>("close"),
                      InstanceMethod<&NativeTun::Stats>("stats"), InstanceAccessor<&NativeTun::GetName>("name"),
                      InstanceAccessor<&NativeTun::GetFd>("fd"),
                      InstanceAccessor<&NativeTun::GetPending>("pending")});
}

NativeTun::NativeTun(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTun>(info) {
  Napi::Env env = info.Env();
  Args a(info, "NativeTun");
  Napi::Object o = a.options(0, "options");
  std::string name = a.fieldString(o, "name"), netns = a.fieldString(o, "netns");
  bool mq = a.fieldBoolean(o, "multiQueue"), vnet = a.fieldBoolean(o, "vnetHdr");
  unsigned offloads = unsigned(a.fieldInteger(o, "offloads", 0, 0xffff, 0));
  mtu_ = size_t(a.fieldInteger(o, "mtu", 68, 65535, 1500));
  mtu6_ = size_t(a.fieldInteger(o, "mtu6", 0, 65535, 0));
  bool whole = a.fieldBoolean(o, "whole");
  if (!a.ok()) return;
  if (name.size() >= IFNAMSIZ) {
    errnoError(env, ENAMETOOLONG, "TUNSETIFF", name).ThrowAsJavaScriptException();
    return;
  }
  NetnsGuard guard(netns);
  if (guard.error()) {
    errnoError(env, guard.error(), guard.step(), netns).ThrowAsJavaScriptException();
    return;
  }
  fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    errnoError(env, errno, "open", "/dev/net/tun").ThrowAsJavaScriptException();
    return;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : 0) | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name.data(), name.size());
  int hdrSize = int(kVnetHdrLen);
  const char* failed = nullptr;
  if (ioctl(fd_, TUNSETIFF, &ifr) != 0) failed = "TUNSETIFF";
  else if (vnet && ioctl(fd_, TUNSETVNETHDRSZ, &hdrSize) != 0) failed = "TUNSETVNETHDRSZ";
  // Always set offloads, to 0 when unused: a persistent device keeps the flags of its previous owner.
  else if (ioctl(fd_, TUNSETOFFLOAD, (unsigned long)(vnet ? offloads : 0)) != 0) failed = "TUNSETOFFLOAD";
  if (failed) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    errnoError(env, err, failed, name).ThrowAsJavaScriptException();
    return;
  }
  name_ = ifr.ifr_name;
  vnet_ = vnet;
  whole_ = vnet && whole;
  if (vnet && !whole_) {
    scratch_.resize(kScratch);
  }
}

NativeTun::~NativeTun() {
  poll_.close();
  if (fd_ >= 0) ::close(fd_);
}

int NativeTun::readPlain(uint8_t* slab, size_t slabLen, size_t slotSize, size_t headroom, int32_t* lengths,
                         int max) {
  int n = 0;
  while (n < max) {
    ssize_t r = ::read(fd_, slab + size_t(n) * slotSize + headroom, slotSize - headroom);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) lastErrno_ = errno;
      break;
    }
    lengths[n++] = int32_t(r);
  }
  (void)slabLen;
  return n;
}

int NativeTun::readVnet(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int max) {
  int n = 0;
  while (n < max) {
    if (pendingLen_ == 0) {
      ssize_t r = ::read(fd_, scratch_.data(), scratch_.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) lastErrno_ = errno;
        break;
      }
      if (size_t(r) < kVnetHdrLen) {
        rxMalformed_++;
        continue;
      }
      pendingLen_ = size_t(r);
    }
    VnetHdr h = decodeVnetHdr(scratch_.data());
    SlotSpan span{slab, slotSize, headroom, lengths, nullptr, n, max};
    int rc = splitPacket(h, scratch_.data() + kVnetHdrLen, pendingLen_ - kVnetHdrLen, span);
    if (rc == kSplitNoRoom && n > 0) break;  // keep it for the next call
    pendingLen_ = 0;
    if (rc == kSplitNoRoom) {
      rxTooManySegments_++;  // more segments than a whole batch has slots: use a larger batchSize
      continue;
    }
    if (rc < 0) {
      rxMalformed_++;
      continue;
    }
    if (rc > 1) rxSuper_++;
    n += rc;
  }
  return n;
}

// read(slab, slotSize, headroom, offsets, lengths, max) -> count
Napi::Value NativeTun::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "read");
  size_t slabLen, offLen, lenLen;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  size_t slotSize = size_t(a.integer(1, "slotSize", 1, kMaxSlotSize));
  size_t headroom = size_t(a.integer(2, "headroom", 0, kMaxSlotSize));
  int32_t* offsets = a.int32s(3, "offsets", &offLen);
  int32_t* lengths = a.int32s(4, "lengths", &lenLen);
  int max = int(a.integer(5, "max", 0, kMaxSlots));
  if (!a.slots(slabLen, slotSize, headroom, max, {offLen, lenLen})) return env.Undefined();
  if (fd_ < 0) return (errnoError(env, EBADF, "read", "device closed").ThrowAsJavaScriptException(), env.Undefined());
  // Whole mode: the virtio header goes before the headroom, and a TSO super-packet is up to 64 KB of IP.
  if (whole_ && (headroom < kVnetHdrLen || slotSize - headroom < 65536)) {
    Napi::RangeError::New(env, "read: whole mode needs headroom >= 10 and 64 KB after it").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lastErrno_ = 0;
  int n = whole_ ? readWhole(slab, slotSize, headroom, lengths, max)
          : vnet_ ? readVnet(slab, slotSize, headroom, lengths, max)
                  : readPlain(slab, slabLen, slotSize, headroom, lengths, max);
  for (int i = 0; i < n; i++) offsets[i] = int32_t(size_t(i) * slotSize + headroom);
  rxPackets_ += n;
  if (n == 0 && lastErrno_) {
    errnoError(env, lastErrno_, "read", name_).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, n);
}

bool NativeTun::writeOne(const uint8_t* p, size_t len, bool vnetZeroHdr) {
  static const uint8_t zero[kVnetHdrLen] = {0};
  for (;;) {
    ssize_t r;
    if (vnetZeroHdr) {
      struct iovec iov[2] = {{const_cast<uint8_t*>(zero), kVnetHdrLen}, {const_cast<uint8_t*>(p), len}};
      r = ::writev(fd_, iov, 2);
    } else {
      r = ::write(fd_, p, len);
    }
    if (r >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    txErrors_++;  // e.g. EINVAL for a packet the kernel rejects: counted, the batch goes on
    return true;
  }
}

bool NativeTun::writeMerged(const PacketRef* run, int used, size_t hdrLen) {
  struct iovec iov[kMaxRun + 1];
  iov[0] = iovec{mergedHdr_, hdrLen};
  size_t skip = tcpHeaderLength(run[0].data);
  for (int q = 0; q < used; q++) iov[q + 1] = iovec{const_cast<uint8_t*>(run[q].data) + skip, run[q].len - skip};
  for (;;) {
    if (::writev(fd_, iov, used + 1) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    txErrors_++;
    return true;
  }
}

// write(slab, offsets, lengths, peers|null, start, count) -> index of the first packet not written
Napi::Value NativeTun::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "write");
  size_t slabLen, offLen, lenLen, peerLen = 0;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  int32_t* offsets = a.int32s(1, "offsets", &offLen);
  int32_t* lengths = a.int32s(2, "lengths", &lenLen);
  int32_t* peers = a.int32s(3, "peers", &peerLen, true);
  int start = int(a.integer(4, "start", 0, kMaxSlots)), count = int(a.integer(5, "count", 0, kMaxSlots));
  if (!a.ok()) return env.Undefined();
  if (!a.packets(slabLen, offsets, lengths, start, count, {offLen, lenLen, peers ? peerLen : offLen}))
    return env.Undefined();
  if (fd_ < 0) return (errnoError(env, EBADF, "write", "device closed").ThrowAsJavaScriptException(), env.Undefined());
  int i = start;
  while (i < count) {
    if (peers && peers[i] < 0) {
      i++;
      continue;
    }
    uint8_t* p = slab + offsets[i];
    InnerPlan plan = planInnerWrite(p, size_t(lengths[i]), mtu_, mtu6_, vnet_, vnet_ ? nullptr : segmentScratch());
    if (plan.partial) txPartialCsum_++;
    if (plan.verdict == InnerVerdict::Write && vnet_) {
      int used = writeRun(slab, offsets, lengths, peers, i, count, plan.len);
      if (used < 0) break;
      i += used;
      continue;
    }
    if (!writePlanned(plan, p)) {
      if (plan.partial) txPartialCsum_--;  // counted again when the write is retried
      break;
    }
    i++;
  }
  return Napi::Number::New(env, i);
}

const SlotSpan* NativeTun::segmentScratch() {
  if (segSlab_.empty()) {
    size_t mtu = mtu_ > mtu6_ ? mtu_ : mtu6_;
    size_t slot = mtu + 128 > 2048 ? mtu + 128 : 2048;
    segSlab_.resize(size_t(kMaxRun) * 2 * slot);
    segLengths_.resize(size_t(kMaxRun) * 2);
    segSpan_ = SlotSpan{segSlab_.data(), slot, 0, segLengths_.data(), nullptr, 0, kMaxRun * 2};
  }
  return &segSpan_;
}

bool NativeTun::writePlanned(const InnerPlan& plan, const uint8_t* p) {
  switch (plan.verdict) {
    case InnerVerdict::Malformed: txMalformed_++; return true;
    case InnerVerdict::BadChecksum: txCsumDrops_++; return true;
    case InnerVerdict::TooManySegments: txTooManySegments_++; return true;
    case InnerVerdict::UdpSuperPacket: txUdpSuper_++; return true;
    case InnerVerdict::Write:
      if (!writeOne(p, plan.len, false)) return false;
      break;
    case InnerVerdict::WriteNeedsCsum:
    case InnerVerdict::WriteGso:
      if (!writeWithHdr(plan.hdr, p, plan.len)) return false;
      if (plan.verdict == InnerVerdict::WriteGso) txGsoWhole_++;
      break;
    case InnerVerdict::Segmented:
      for (int s = 0; s < plan.segments; s++) {
        const uint8_t* seg = segSpan_.base + size_t(s) * segSpan_.slotSize;
        // A segment after the first that would block is lost (TCP resends it): the plan cannot be resumed.
        if (!writeOne(seg, size_t(segLengths_[s]), false)) {
          if (s == 0) return false;
          txErrors_ += plan.segments - s;
          break;
        }
      }
      txSegmentedSuper_++;
      txPackets_ += plan.segments - 1;  // plus one below
      break;
  }
  txPackets_++;
  return true;
}

int NativeTun::writeRun(uint8_t* slab, const int32_t* offsets, const int32_t* lengths, const int32_t* peers, int i,
                        int count, size_t firstLen) {
  PacketRef run[kMaxRun];
  run[0] = PacketRef{slab + offsets[i], firstLen};
  int k = 1;
  while (i + k < count && k < kMaxRun && !(peers && peers[i + k] < 0)) {
    uint8_t* q = slab + offsets[i + k];
    InnerPlan next = planInnerWrite(q, size_t(lengths[i + k]), mtu_, mtu6_, true, nullptr);
    if (next.verdict != InnerVerdict::Write) break;  // handled on its own by the caller's next step
    run[k++] = PacketRef{q, next.len};
  }
  size_t hdrLen;
  CoalesceResult why;
  int used = coalesce(run, k, mergedHdr_, &hdrLen, &why);
  if (why == CoalesceResult::BadChecksum) {
    txCsumDrops_++;
    return used;
  }
  if (why == CoalesceResult::Merged ? !writeMerged(run, used, hdrLen) : !writeOne(run[0].data, run[0].len, true))
    return -1;
  if (why == CoalesceResult::Merged) txSuper_++;
  txPackets_ += used;
  return used;
}

bool NativeTun::writeWithHdr(const VnetHdr& h, const uint8_t* p, size_t len) {
  uint8_t hdr[kVnetHdrLen];
  encodeVnetHdr(h, hdr);
  struct iovec iov[2] = {{hdr, kVnetHdrLen}, {const_cast<uint8_t*>(p), len}};
  for (;;) {
    if (::writev(fd_, iov, 2) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    txErrors_++;
    return true;
  }
}

Napi::Value NativeTun::SetOffload(const Napi::CallbackInfo& info) {
  Args a(info, "setOffload");
  unsigned flags = unsigned(a.integer(0, "flags", 0, 0xffff));
  if (!a.ok()) return info.Env().Undefined();
  if (fd_ < 0) {
    errnoError(info.Env(), EBADF, "TUNSETOFFLOAD", "device closed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (!vnet_ && flags) {
    errnoError(info.Env(), EINVAL, "TUNSETOFFLOAD", "offloads need vnetHdr").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (ioctl(fd_, TUNSETOFFLOAD, (unsigned long)flags) != 0) {
    errnoError(info.Env(), errno, "TUNSETOFFLOAD", name_).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

Napi::Value NativeTun::Poll(const Napi::CallbackInfo& info) {
  return pollEntry(info, poll_, fd_);
}

Napi::Value NativeTun::StopPoll(const Napi::CallbackInfo& info) {
  int rc = poll_.stop();
  if (rc != 0) uvError(info.Env(), rc, "uv_poll_stop").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value NativeTun::Close(const Napi::CallbackInfo& info) {
  poll_.close();
  if (fd_ >= 0) {
    if (vnet_) ioctl(fd_, TUNSETOFFLOAD, 0UL);  // leave no offloads behind on a persistent device
    ::close(fd_);
  }
  fd_ = -1;
  return info.Env().Undefined();
}

// stats() -> { rxPackets, rxSuperPackets, ... } with the names of TunStats in src/tun.ts
Napi::Value NativeTun::Stats(const Napi::CallbackInfo& info) {
  return statsObject(info.Env(), {{"rxPackets", rxPackets_},
                                  {"rxSuperPackets", rxSuper_},
                                  {"rxMalformed", rxMalformed_},
                                  {"txPackets", txPackets_},
                                  {"txSuperPackets", txSuper_},
                                  {"txChecksumDrops", txCsumDrops_},
                                  {"txErrors", txErrors_},
                                  {"rxTooManySegments", rxTooManySegments_},
                                  {"txGsoWhole", txGsoWhole_},
                                  {"txPartialChecksums", txPartialCsum_},
                                  {"txSegmentedSuper", txSegmentedSuper_},
                                  {"txMalformed", txMalformed_},
                                  {"txTooManySegments", txTooManySegments_},
                                  {"txUdpSuperPackets", txUdpSuper_}});
}

Napi::Value NativeTun::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value NativeTun::GetPending(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), pendingLen_ != 0);
}
Napi::Value NativeTun::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

}  // namespace weft
