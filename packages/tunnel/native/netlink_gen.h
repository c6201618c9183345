// The nf_tables ruleset generation query (netlink_gen.cc).
#pragma once
#include <napi.h>

namespace weft {

/** Adds nftGeneration(netns?) to the addon's exports. */
void InitNetlinkGeneration(Napi::Env env, Napi::Object exports);

}  // namespace weft
