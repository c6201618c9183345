#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft {

Napi::Error errnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string msg = std::string(syscall) + ": " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "UNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

NetnsGuard::NetnsGuard(const std::string& path) {
  if (path.empty()) return;
  orig_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_ < 0) {
    err_ = errno;
    step_ = "open /proc/thread-self/ns/net";
    return;
  }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    err_ = errno;
    step_ = "open namespace";
    ::close(orig_);
    orig_ = -1;
    return;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    err_ = errno;
    step_ = "setns";
    ::close(orig_);
    orig_ = -1;
  }
  ::close(target);
}

NetnsGuard::~NetnsGuard() {
  if (orig_ < 0) return;
  if (setns(orig_, CLONE_NEWNET) != 0) abort();  // staying in the wrong namespace would be silently wrong
  ::close(orig_);
}

int FdPoll::start(Napi::Env env, int fd, int events, Napi::Function cb) {
  if (handle_ && fd_ != fd) close();
  if (!handle_) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return UV_EINVAL;
    auto* h = new uv_poll_t;
    int rc = uv_poll_init(loop, h, fd);
    if (rc != 0) {
      delete h;  // never initialised, so no uv_close
      return rc;
    }
    handle_ = h;
    handle_->data = this;
    fd_ = fd;
  }
  env_ = env;
  cb_ = Napi::Persistent(cb);
  int uvEvents = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0);
  return uv_poll_start(handle_, uvEvents, onPoll);
}

int FdPoll::stop() { return handle_ ? uv_poll_stop(handle_) : 0; }

void FdPoll::close() {
  if (!handle_) return;
  uv_poll_stop(handle_);
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  handle_ = nullptr;
  cb_.Reset();
}

void FdPoll::onPoll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<FdPoll*>(h->data);
  if (!self || self->cb_.IsEmpty()) return;
  Napi::Env env(self->env_);
  Napi::HandleScope scope(env);
  int js = ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
  self->cb_.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, js)});
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

}  // namespace weft
