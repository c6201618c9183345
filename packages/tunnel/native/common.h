// Shared pieces of the addon: errno errors for JavaScript, entering a network namespace for one call, and a
// libuv poll handle on the main loop that calls back into JavaScript when a descriptor is ready.
#pragma once
#include <napi.h>
#include <uv.h>

#include <string>

namespace weft {

/** Throws a JS Error with code (e.g. "EPERM"), errno and syscall set, so the TypeScript face can type it. */
Napi::Error errnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

/** The same for a libuv return code (a negative errno on Linux), e.g. from uv_poll_start. */
inline Napi::Error uvError(Napi::Env env, int rc, const char* call) { return errnoError(env, -rc, call); }

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

/**
 * A uv_poll_t for one fd; the JS callback gets (status, events) with events 1 = readable, 2 = writable.
 * start() and stop() return libuv's code (0, or a negative errno such as UV_EBADF) for the caller to throw.
 */
class FdPoll {
 public:
  int start(Napi::Env env, int fd, int events, Napi::Function cb);
  int stop();
  void close();  // stops and releases the handle; safe to call twice
  ~FdPoll() { close(); }

 private:
  static void onPoll(uv_poll_t* h, int status, int events);
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference cb_;
  napi_env env_ = nullptr;
  int fd_ = -1;
};

}  // namespace weft
