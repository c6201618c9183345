// Shared pieces of the addon: errno errors for JavaScript, entering a network namespace for one call, and a
// libuv poll handle on the main loop that calls back into JavaScript when a descriptor is ready.
#pragma once
#include <napi.h>
#include <uv.h>

#include <string>

namespace weft {

/** Throws a JS Error with code (e.g. "EPERM"), errno and syscall set, so the TypeScript face can type it. */
Napi::Error errnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

/**
 * Enters the network namespace at `path` (e.g. /run/netns/NAME) on the calling thread for the lifetime of this
 * object and returns to the original one in the destructor. An empty path does nothing. Devices and sockets
 * belong to the namespace they were created in, so only creation needs to happen inside.
 */
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& path);
  ~NetnsGuard();
  int error() const { return err_; }  // errno of the failed step, 0 when inside (or nothing to do)
  const char* step() const { return step_; }

 private:
  int orig_ = -1;
  int err_ = 0;
  const char* step_ = "";
};

/** A uv_poll_t for one fd; the JS callback gets (status, events) with events 1 = readable, 2 = writable. */
class FdPoll {
 public:
  void start(Napi::Env env, int fd, int events, Napi::Function cb);
  void stop();
  void close();  // stops and releases the handle; safe to call twice
  ~FdPoll() { close(); }

 private:
  static void onPoll(uv_poll_t* h, int status, int events);
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference cb_;
  napi_env env_ = nullptr;
  int fd_ = -1;
};

/** Reads a typed array argument, throwing a TypeError naming it if it is the wrong kind. */
template <typename T>
T* typedData(const Napi::Value& v, size_t* length, const char* name) {
  if (!v.IsTypedArray()) {
    Napi::TypeError::New(v.Env(), std::string(name) + " must be a typed array").ThrowAsJavaScriptException();
    return nullptr;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *length = ta.ByteLength() / sizeof(T);
  static T empty[1];
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
  if (!base) return empty;  // a zero-length buffer may have no backing store
  return reinterpret_cast<T*>(base + ta.ByteOffset());
}

}  // namespace weft
