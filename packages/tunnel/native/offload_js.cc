// The pure offload functions, callable from JavaScript for tests and for a TypeScript fallback path.
#include <napi.h>

#include <cstring>

#include "offload.h"
#include "tun.h"

namespace weft {

// splitSuperPacket(pkt (virtio header + IP packet), slab, slotSize, headroom, offsets, lengths, max) -> count,
// -1 (malformed) or -2 (needs more slots than max)
static Napi::Value SplitSuperPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t pktLen, slabLen, offLen, lenLen;
  uint8_t* pkt = typedData<uint8_t>(info[0], &pktLen, "pkt");
  uint8_t* slab = typedData<uint8_t>(info[1], &slabLen, "slab");
  size_t slotSize = info[2].As<Napi::Number>().Uint32Value(), headroom = info[3].As<Napi::Number>().Uint32Value();
  int32_t* offsets = typedData<int32_t>(info[4], &offLen, "offsets");
  int32_t* lengths = typedData<int32_t>(info[5], &lenLen, "lengths");
  if (!pkt || !slab || !offsets || !lengths) return env.Undefined();
  int max = info[6].As<Napi::Number>().Int32Value();
  if (max < 0 || size_t(max) > offLen || size_t(max) > lenLen || size_t(max) * slotSize > slabLen ||
      headroom >= slotSize) {
    Napi::RangeError::New(env, "splitSuperPacket: slab too small").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (pktLen < kVnetHdrLen) return Napi::Number::New(env, kSplitMalformed);
  SlotSpan span{slab, slotSize, headroom, lengths, offsets, 0, max};
  return Napi::Number::New(env, splitPacket(decodeVnetHdr(pkt), pkt + kVnetHdrLen, pktLen - kVnetHdrLen, span));
}

// coalescePackets(slab, offsets, lengths, start, count, out) -> [consumed, outLen, why(0 merged, 1 single, 2 bad)]
static Napi::Value CoalescePackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t slabLen, offLen, lenLen, outCap;
  uint8_t* slab = typedData<uint8_t>(info[0], &slabLen, "slab");
  int32_t* offsets = typedData<int32_t>(info[1], &offLen, "offsets");
  int32_t* lengths = typedData<int32_t>(info[2], &lenLen, "lengths");
  int start = info[3].As<Napi::Number>().Int32Value(), count = info[4].As<Napi::Number>().Int32Value();
  uint8_t* out = typedData<uint8_t>(info[5], &outCap, "out");
  if (!slab || !offsets || !lengths || !out) return env.Undefined();
  if (start < 0 || count <= start || size_t(count) > offLen || size_t(count) > lenLen || count - start > 64) {
    Napi::RangeError::New(env, "coalescePackets: bad start/count").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PacketRef refs[64];
  for (int i = start; i < count; i++) {
    if (offsets[i] < 0 || lengths[i] < 0 || size_t(offsets[i]) + size_t(lengths[i]) > slabLen) {
      Napi::RangeError::New(env, "coalescePackets: packet outside the slab").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    refs[i - start] = PacketRef{slab + offsets[i], size_t(lengths[i])};
  }
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
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Napi::Number::New(env, used));
  r.Set(1u, Napi::Number::New(env, double(outLen)));
  r.Set(2u, Napi::Number::New(env, why == CoalesceResult::Merged ? 0 : why == CoalesceResult::Single ? 1 : 2));
  return r;
}

// checksumOk(pkt) -> whether the IPv4 header and TCP/UDP checksums verify
static Napi::Value ChecksumOk(const Napi::CallbackInfo& info) {
  size_t len;
  uint8_t* p = typedData<uint8_t>(info[0], &len, "pkt");
  if (!p) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), transportChecksumOk(p, len));
}

void InitOffloadFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("splitSuperPacket", Napi::Function::New(env, SplitSuperPacket));
  exports.Set("coalescePackets", Napi::Function::New(env, CoalescePackets));
  exports.Set("checksumOk", Napi::Function::New(env, ChecksumOk));
}

}  // namespace weft
