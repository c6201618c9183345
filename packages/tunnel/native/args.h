// Argument checks for every entry point of the addon, in one place.
//
// Design notes: JavaScript can pass anything, so nothing is cast before its kind is known. An Args object reads
// the arguments of one call in order; the first bad one throws a TypeError (wrong kind: a number where a
// Uint8Array belongs, an Int32Array where a Uint8Array belongs, 1.5 for a count) or a RangeError (an integer
// outside its bounds), whose message names the function and the argument. Later reads after a failure return
// harmless defaults without throwing again, so an entry point checks ok() once before touching anything.
// Statistics go back to JavaScript as objects with named fields (statsObject), never as positional arrays.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "common.h"

namespace weft {

constexpr int64_t kMaxSlotSize = 1 << 20;    // bytes per slot: far above any datagram (64 KB) plus headroom
constexpr int64_t kMaxSlots = 1 << 24;       // slots per batch or packets per call
constexpr int64_t kMaxPeerIndex = 1 << 20;   // UdpBatchSocket.addPeer's documented range

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  /** False once an argument failed its check (a JS exception is then pending). */
  bool ok() const { return !failed_; }

  /** Argument i must be a Uint8Array (a Buffer is one); sets *len to its byte length. */
  uint8_t* bytes(size_t i, const char* name, size_t* len);
  /** Argument i must be an Int32Array; sets *len to its element count. Optional: null/undefined gives nullptr. */
  int32_t* int32s(size_t i, const char* name, size_t* len, bool optional = false);
  /** Argument i must be an integral number in [min, max]. */
  int64_t integer(size_t i, const char* name, int64_t min, int64_t max);
  bool boolean(size_t i, const char* name);
  std::string string(size_t i, const char* name);
  Napi::Function function(size_t i, const char* name);
  /** Argument i must be an object (or undefined: an empty one) whose fields are read with the field* methods. */
  Napi::Object options(size_t i, const char* name);

  /**
   * The slot layout of a read: `max` slots of `slotSize` bytes fit in the slab (slabLen bytes), the packet area
   * after `headroom` is not empty, and every index array (their element counts in arrayLens) has max entries.
   */
  bool slots(size_t slabLen, size_t slotSize, size_t headroom, int64_t max, std::initializer_list<size_t> arrayLens);
  /**
   * Packets start..count-1 of a write: count fits every index array, and each offsets[i]/lengths[i] pair lies
   * inside the slab. Checked before any packet is touched, so a bad batch sends nothing.
   */
  bool packets(size_t slabLen, const int32_t* offsets, const int32_t* lengths, int64_t start, int64_t count,
               std::initializer_list<size_t> arrayLens);

  /** Field key of an options object: absent gives the default; present must be of the right kind. */
  std::string fieldString(const Napi::Object& o, const char* key, const std::string& dflt = "");
  bool fieldBoolean(const Napi::Object& o, const char* key, bool dflt = false);
  int64_t fieldInteger(const Napi::Object& o, const char* key, int64_t min, int64_t max, int64_t dflt);

 private:
  int64_t checkInteger(const Napi::Value& v, const std::string& name, int64_t min, int64_t max);
  void typeError(const std::string& name, const std::string& want, const Napi::Value& got);
  void rangeError(const std::string& message);

  const Napi::CallbackInfo& info_;
  const char* fn_;
  bool failed_ = false;
};

/** poll(events, cb) of NativeTun and NativeUdp: events 1..3 (readable | writable), libuv's codes checked. */
Napi::Value pollEntry(const Napi::CallbackInfo& info, FdPoll& poll, int fd);

/** A plain object {name: value, ...} for stats(): named fields, so neither side depends on an order. */
Napi::Object statsObject(Napi::Env env, std::initializer_list<std::pair<const char*, double>> fields);

}  // namespace weft
