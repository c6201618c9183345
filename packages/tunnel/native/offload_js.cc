// The pure offload functions, callable from JavaScript for tests and for a TypeScript fallback path.
#include <napi.h>

#include <cstring>

#include "args.h"
#include "inner.h"
#include "offload.h"
#include "tun.h"

namespace weft {

// splitSuperPacket(pkt (virtio header + IP packet), slab, slotSize, headroom, offsets, lengths, max) -> count,
// -1 (malformed) or -2 (needs more slots than max)
static Napi::Value SplitSuperPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "splitSuperPacket");
  size_t pktLen, slabLen, offLen, lenLen;
  uint8_t* pkt = a.bytes(0, "pkt", &pktLen);
  uint8_t* slab = a.bytes(1, "slab", &slabLen);
  size_t slotSize = size_t(a.integer(2, "slotSize", 1, kMaxSlotSize));
  size_t headroom = size_t(a.integer(3, "headroom", 0, kMaxSlotSize));
  int32_t* offsets = a.int32s(4, "offsets", &offLen);
  int32_t* lengths = a.int32s(5, "lengths", &lenLen);
  int max = int(a.integer(6, "max", 0, kMaxSlots));
  if (!a.slots(slabLen, slotSize, headroom, max, {offLen, lenLen})) return env.Undefined();
  if (pktLen < kVnetHdrLen) return Napi::Number::New(env, kSplitMalformed);
  SlotSpan span{slab, slotSize, headroom, lengths, offsets, 0, max};
  return Napi::Number::New(env, splitPacket(decodeVnetHdr(pkt), pkt + kVnetHdrLen, pktLen - kVnetHdrLen, span));
}

// coalescePackets(slab, offsets, lengths, start, count, out) -> { used, outLength, why (0 merged, 1 single, 2 bad) }
static Napi::Value CoalescePackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "coalescePackets");
  size_t slabLen, offLen, lenLen, outCap;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  int32_t* offsets = a.int32s(1, "offsets", &offLen);
  int32_t* lengths = a.int32s(2, "lengths", &lenLen);
  int start = int(a.integer(3, "start", 0, kMaxSlots));
  int count = int(a.integer(4, "count", start + 1, int64_t(start) + 64));  // 1 to 64 packets
  uint8_t* out = a.bytes(5, "out", &outCap);
  if (!a.ok() || !a.packets(slabLen, offsets, lengths, start, count, {offLen, lenLen})) return env.Undefined();
  PacketRef refs[64];
  for (int i = start; i < count; i++) refs[i - start] = PacketRef{slab + offsets[i], size_t(lengths[i])};
  uint8_t hdr[kMergedHeaderMax];
  size_t hdrLen, outLen = 0;
  CoalesceResult why;
  int used = coalesce(refs, count - start, hdr, &hdrLen, &why);
  if (why == CoalesceResult::Merged) {  // gather as NativeTun::Write's writev would
    size_t skip = tcpHeaderLength(refs[0].data);
    outLen = hdrLen;
    for (int i = 0; i < used; i++) outLen += refs[i].len - skip;
    if (outLen > outCap) {
      Napi::RangeError::New(env, "coalescePackets: out too small").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    memcpy(out, hdr, hdrLen);
    size_t at = hdrLen;
    for (int i = 0; i < used; i++) {
      memcpy(out + at, refs[i].data + skip, refs[i].len - skip);
      at += refs[i].len - skip;
    }
  }
  return statsObject(env, {{"used", used},
                           {"outLength", double(outLen)},
                           {"why", why == CoalesceResult::Merged ? 0 : why == CoalesceResult::Single ? 1 : 2}});
}

// checksumOk(pkt) -> whether the IPv4 header and TCP/UDP checksums verify
static Napi::Value ChecksumOk(const Napi::CallbackInfo& info) {
  Args a(info, "checksumOk");
  size_t len;
  uint8_t* p = a.bytes(0, "pkt", &len);
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), transportChecksumOk(p, len));
}

// planInnerWrite(pkt, mtu, vnet, hdrOut (10 bytes), slab, slotSize, lengths) -> { verdict, length, partial,
// superPacket, segments }: what NativeTun::write does with one decapsulated packet, without a device. pkt may be
// modified (checksum field); segments (vnet false) go to the slab's slots, the vnet header (verdicts 1, 2) to hdrOut.
static Napi::Value PlanInnerWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "planInnerWrite");
  size_t pktLen, hdrCap, slabLen, lenLen;
  uint8_t* pkt = a.bytes(0, "pkt", &pktLen);
  size_t mtu = size_t(a.integer(1, "mtu", 68, 65535));
  bool vnet = a.boolean(2, "vnet");
  uint8_t* hdrOut = a.bytes(3, "hdrOut", &hdrCap);
  uint8_t* slab = a.bytes(4, "slab", &slabLen);
  size_t slotSize = size_t(a.integer(5, "slotSize", 1, kMaxSlotSize));
  int32_t* lengths = a.int32s(6, "lengths", &lenLen);
  if (!a.ok()) return env.Undefined();
  if (hdrCap < kVnetHdrLen) {
    Napi::RangeError::New(env, "planInnerWrite: hdrOut must hold 10 bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t slots = slabLen / slotSize < lenLen ? slabLen / slotSize : lenLen;
  SlotSpan span{slab, slotSize, 0, lengths, nullptr, 0, int(slots)};
  InnerPlan plan = planInnerWrite(pkt, pktLen, mtu, 0, vnet, &span);
  if (plan.verdict == InnerVerdict::WriteGso || plan.verdict == InnerVerdict::WriteNeedsCsum) encodeVnetHdr(plan.hdr, hdrOut);
  Napi::Object o = statsObject(env, {{"verdict", double(int(plan.verdict))},
                                     {"length", double(plan.len)},
                                     {"segments", double(plan.segments)}});
  o.Set("partial", Napi::Boolean::New(env, plan.partial));
  o.Set("superPacket", Napi::Boolean::New(env, plan.super));
  return o;
}

void InitOffloadFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("planInnerWrite", Napi::Function::New(env, PlanInnerWrite));
  exports.Set("splitSuperPacket", Napi::Function::New(env, SplitSuperPacket));
  exports.Set("coalescePackets", Napi::Function::New(env, CoalescePackets));
  exports.Set("checksumOk", Napi::Function::New(env, ChecksumOk));
}

}  // namespace weft
