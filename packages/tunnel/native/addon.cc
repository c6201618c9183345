// weft_tunnel: moves bytes between TUN devices, UDP sockets and memory that JavaScript owns. No protocols here.
#include <napi.h>

#include "netlink_gen.h"
#include "tap.h"
#include "tun.h"
#include "udp.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeTun", weft::NativeTun::Init(env));
  exports.Set("NativeUdp", weft::NativeUdp::Init(env));
  exports.Set("NativeTap", weft::NativeTap::Init(env));
  weft::InitOffloadFunctions(env, exports);
  weft::InitNetlinkGeneration(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(weft_tunnel, Init)
