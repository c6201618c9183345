// NativeUdp: batched UDP with peers registered by index. Sends group runs of same-size datagrams to one peer into
// one UDP_SEGMENT (GSO) message; receives with UDP_GRO are cut back into one datagram per slot.
#include "udp.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"

namespace weft {

// Marks objects made by NativeUdp, so sharePeers never treats another class's object as a socket.
static const napi_type_tag kUdpTag = {0x7765667475647021ULL, 0x70656572732d3031ULL};

Napi::Function NativeUdp::Init(Napi::Env env) {
  return DefineClass(
      env, "NativeUdp",
      {InstanceMethod<&NativeUdp::Bind>("bind"), InstanceMethod<&NativeUdp::AddPeer>("addPeer"),
       InstanceMethod<&NativeUdp::RemovePeer>("removePeer"), InstanceMethod<&NativeUdp::SetBuffers>("setBuffers"),
       InstanceMethod<&NativeUdp::SetGso>("setGso"), InstanceMethod<&NativeUdp::SetGro>("setGro"),
       InstanceMethod<&NativeUdp::Send>("send"), InstanceMethod<&NativeUdp::Recv>("recv"),
       InstanceMethod<&NativeUdp::SourceOf>("sourceOf"), InstanceMethod<&NativeUdp::Poll>("poll"),
       InstanceMethod<&NativeUdp::StopPoll>("stopPoll"), InstanceMethod<&NativeUdp::Close>("close"),
       InstanceMethod<&NativeUdp::Stats>("stats"), InstanceMethod<&NativeUdp::SetPeerByAddress>("setPeerByAddress"),
       InstanceMethod<&NativeUdp::SharePeers>("sharePeers"),
       InstanceAccessor<&NativeUdp::GetPending>("pending")});
}

NativeUdp::NativeUdp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeUdp>(info) {
  Napi::Env env = info.Env();
  Args a(info, "NativeUdp");
  Napi::Object o = a.options(0, "options");
  int64_t family = a.fieldInteger(o, "family", 4, 6, 4);
  std::string netns = a.fieldString(o, "netns");
  if (a.ok() && family == 5) Napi::RangeError::New(env, "NativeUdp: option family must be 4 or 6 (got 5)").ThrowAsJavaScriptException();
  if (!a.ok() || family == 5) return;
  family_ = family == 6 ? AF_INET6 : AF_INET;
  info.This().As<Napi::Object>().TypeTag(&kUdpTag);
  NetnsGuard guard(netns);
  if (guard.error()) {
    errnoError(env, guard.error(), guard.step(), netns).ThrowAsJavaScriptException();
    return;
  }
  fd_ = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) errnoError(env, errno, "socket").ThrowAsJavaScriptException();
}

NativeUdp::~NativeUdp() {
  poll_.close();
  if (fd_ >= 0) ::close(fd_);
}

bool NativeUdp::parseAddress(const std::string& text, uint16_t port, sockaddr_storage* out, socklen_t* len) const {
  memset(out, 0, sizeof *out);
  in_addr v4;
  in6_addr v6;
  bool isV4 = inet_pton(AF_INET, text.c_str(), &v4) == 1;
  if (!isV4 && inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (family_ == AF_INET) {
    if (!isV4) return false;
    auto* s = reinterpret_cast<sockaddr_in*>(out);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    s->sin_addr = v4;
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(out);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  if (isV4) {  // IPv4-mapped, for a dual-stack socket
    s->sin6_addr.s6_addr[10] = s->sin6_addr.s6_addr[11] = 0xff;
    memcpy(s->sin6_addr.s6_addr + 12, &v4, 4);
  } else {
    s->sin6_addr = v6;
  }
  *len = sizeof(sockaddr_in6);
  return true;
}

static PeerKey keyOf(const sockaddr_storage& sa) {
  PeerKey k;
  memset(&k, 0, sizeof k);
  if (sa.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&sa);
    k.addr[10] = k.addr[11] = 0xff;
    memcpy(k.addr + 12, &s->sin_addr, 4);
    k.port = s->sin_port;
  } else {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&sa);
    memcpy(k.addr, &s->sin6_addr, 16);
    k.port = s->sin6_port;
  }
  return k;
}

// A datagram's source peer: the exact address and port, or else the address alone. Tunnel peers such as the
// kernel's vxlan driver send from a port hashed per flow (RFC 7348 section 5), not from the port we send to.
int NativeUdp::lookup(const sockaddr_storage& sa) {
  PeerKey k = keyOf(sa);
  auto it = peers_->index.find(k);
  if (it != peers_->index.end() || !peerByAddress_) return it == peers_->index.end() ? -1 : it->second;
  k.port = 0;
  it = peers_->index.find(k);
  return it == peers_->index.end() ? -1 : it->second;
}

/** The address-only key of a peer (port 0), under which lookup finds it whatever its source port. */
static PeerKey addressKey(const sockaddr_storage& sa) {
  PeerKey k = keyOf(sa);
  k.port = 0;
  return k;
}

// bind(address, port) -> bound port
Napi::Value NativeUdp::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "bind");
  std::string addr = a.string(0, "address");
  uint16_t port = uint16_t(a.integer(1, "port", 0, 65535));
  if (!a.ok()) return env.Undefined();
  sockaddr_storage sa;
  socklen_t len;
  if (!parseAddress(addr, port, &sa, &len)) {
    errnoError(env, EAFNOSUPPORT, "bind", "address " + addr + " does not fit this socket's family").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    errnoError(env, errno, "bind", addr).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  socklen_t got = sizeof sa;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &got) != 0) {
    errnoError(env, errno, "getsockname", addr).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // sin_port and sin6_port sit at the same offset
  return Napi::Number::New(env, ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port));
}

// addPeer(index, address, port)
Napi::Value NativeUdp::AddPeer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "addPeer");
  int index = int(a.integer(0, "index", 0, kMaxPeerIndex));
  std::string addr = a.string(1, "address");
  uint16_t port = uint16_t(a.integer(2, "port", 0, 65535));
  if (!a.ok()) return env.Undefined();
  sockaddr_storage sa;
  socklen_t len;
  if (!parseAddress(addr, port, &sa, &len)) {
    Napi::RangeError::New(env, "addPeer: address " + addr + " is not an IP address of this socket's family").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (size_t(index) >= peers_->addr.size()) {
    peers_->addr.resize(size_t(index) + 1);
    peers_->len.resize(size_t(index) + 1, 0);
  }
  if (peers_->len[index]) {
    peers_->index.erase(keyOf(peers_->addr[index]));
    auto old = peers_->index.find(addressKey(peers_->addr[index]));
    if (old != peers_->index.end() && old->second == index) peers_->index.erase(old);
  }
  peers_->addr[index] = sa;
  peers_->len[index] = len;
  peers_->index[keyOf(sa)] = index;
  peers_->index[addressKey(sa)] = index;  // the latest peer at an address answers for its other ports
  return env.Undefined();
}

Napi::Value NativeUdp::RemovePeer(const Napi::CallbackInfo& info) {
  Args a(info, "removePeer");
  int index = int(a.integer(0, "index", 0, kMaxPeerIndex));
  if (a.ok() && size_t(index) < peers_->len.size() && peers_->len[index]) {
    peers_->index.erase(keyOf(peers_->addr[index]));
    auto old = peers_->index.find(addressKey(peers_->addr[index]));
    if (old != peers_->index.end() && old->second == index) peers_->index.erase(old);
    peers_->len[index] = 0;
  }
  return info.Env().Undefined();
}

// sharePeers(other): this socket uses other's peer table from now on (its own peers are dropped); same family
Napi::Value NativeUdp::SharePeers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value v = info.Length() > 0 ? info[0] : env.Undefined();
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kUdpTag)) {
    Napi::TypeError::New(env, "sharePeers: argument 0 (other) must be a NativeUdp").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  NativeUdp* other = NativeUdp::Unwrap(v.As<Napi::Object>());
  if (other->family_ != family_) {
    Napi::RangeError::New(env, "sharePeers: the sockets' families differ").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  peers_ = other->peers_;
  return env.Undefined();
}

// setBuffers(send, receive) -> { send, receive } as the kernel reports them (it doubles the request); 0 = keep
Napi::Value NativeUdp::SetBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "setBuffers");
  int want[2] = {int(a.integer(0, "send", 0, INT32_MAX / 2)), int(a.integer(1, "receive", 0, INT32_MAX / 2))};
  if (!a.ok()) return env.Undefined();
  const int force[2] = {SO_SNDBUFFORCE, SO_RCVBUFFORCE}, plain[2] = {SO_SNDBUF, SO_RCVBUF};
  int got[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    // without CAP_NET_ADMIN the FORCE option fails and the plain one is capped by rmem_max/wmem_max
    if (want[k] > 0 && setsockopt(fd_, SOL_SOCKET, force[k], &want[k], sizeof(int)) != 0 &&
        setsockopt(fd_, SOL_SOCKET, plain[k], &want[k], sizeof(int)) != 0) {
      errnoError(env, errno, "setsockopt", k ? "SO_RCVBUF" : "SO_SNDBUF").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    socklen_t l = sizeof got[k];
    if (getsockopt(fd_, SOL_SOCKET, plain[k], &got[k], &l) != 0) {
      errnoError(env, errno, "getsockopt", k ? "SO_RCVBUF" : "SO_SNDBUF").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  return statsObject(env, {{"send", got[0]}, {"receive", got[1]}});
}

// setPeerByAddress(on): a datagram whose address:port is no peer's is still attributed to the peer at its address
Napi::Value NativeUdp::SetPeerByAddress(const Napi::CallbackInfo& info) {
  Args a(info, "setPeerByAddress");
  bool on = a.boolean(0, "on");
  if (a.ok()) peerByAddress_ = on;
  return info.Env().Undefined();
}

// setGso(on) -> whether the kernel accepts UDP_SEGMENT on this socket
Napi::Value NativeUdp::SetGso(const Napi::CallbackInfo& info) {
  Args a(info, "setGso");
  bool on = a.boolean(0, "on");
  if (!a.ok()) return info.Env().Undefined();
  int probe = 0;
  socklen_t l = sizeof probe;
  gso_ = on && getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &probe, &l) == 0;
  return Napi::Boolean::New(info.Env(), gso_);
}

// setGro(on) -> whether UDP_GRO is now on
Napi::Value NativeUdp::SetGro(const Napi::CallbackInfo& info) {
  Args a(info, "setGro");
  int on = a.boolean(0, "on") ? 1 : 0;
  if (!a.ok()) return info.Env().Undefined();
  bool ok = setsockopt(fd_, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  gro_ = ok && on;
  if (gro_ && groBuf_.empty()) {
    groBuf_.resize(kGroBufs * kGroBufSize);
    groAddr_.resize(kGroBufs);
  }
  return Napi::Boolean::New(info.Env(), gro_);
}

void NativeUdp::ensureSlots(size_t n) {
  if (msgs_.size() >= n) return;
  msgs_.resize(n);
  iovs_.resize(n);
  cmsg_.resize(n * kCmsgStride);
  slotAddr_.resize(n);
}

Napi::Value NativeUdp::Poll(const Napi::CallbackInfo& info) {
  return pollEntry(info, poll_, fd_);
}

Napi::Value NativeUdp::StopPoll(const Napi::CallbackInfo& info) {
  int rc = poll_.stop();
  if (rc != 0) uvError(info.Env(), rc, "uv_poll_stop").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value NativeUdp::Close(const Napi::CallbackInfo& info) {
  poll_.close();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

// stats() -> { rxPackets, rxGroBatches, ... } with the names of UdpStats in src/udp.ts
Napi::Value NativeUdp::Stats(const Napi::CallbackInfo& info) {
  return statsObject(info.Env(), {{"rxPackets", rxPackets_},
                                  {"rxGroBatches", rxGro_},
                                  {"rxTruncated", rxTruncated_},
                                  {"rxUnknownSource", rxUnknown_},
                                  {"txPackets", txPackets_},
                                  {"txGsoSends", txGsoSends_},
                                  {"txErrors", txErrors_},
                                  {"gsoDisabled", gsoDisabled_}});
}

Napi::Value NativeUdp::GetPending(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), groHead_ < groQueue_.size());
}

}  // namespace weft
