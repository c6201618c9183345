// nftGeneration([netns]): the nf_tables ruleset generation of a network namespace, read over netlink.
//
// Design notes: the kernel bumps one generation counter per network namespace with every committed nf_tables
// transaction (iptables-nft writes go through nf_tables too), so an unchanged number means no table anywhere in the
// namespace changed. Node cannot open a NETLINK_NETFILTER socket, hence this function. One request per call on a
// fresh socket (socket, send, receive, close: no fork, no state to leak); the socket is created inside the
// namespace (NetnsGuard) and belongs to it from then on. A receive timeout bounds the call, which runs on the
// JavaScript thread. The message layout: nlmsghdr, then struct nfgenmsg (family, version, res_id), then the
// attributes of NFT_MSG_NEWGEN, of which NFTA_GEN_ID is a big-endian u32 (linux/netfilter/nf_tables.h).
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <napi.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "args.h"
#include "common.h"

namespace weft {
namespace {

constexpr uint32_t kSequence = 1;
constexpr int kReceiveTimeoutMs = 1000;

struct GenRequest {
  nlmsghdr hdr;
  nfgenmsg gen;
};

/** Closes the socket however the call ends. */
struct SocketFd {
  int fd;
  ~SocketFd() {
    if (fd >= 0) ::close(fd);
  }
};

/**
 * Reads NFTA_GEN_ID from one reply datagram of `len` bytes. Returns 0 and sets *gen on success; otherwise the
 * errno to report (the kernel's own from an NLMSG_ERROR, EBADMSG for a reply without the attribute).
 */
int parseReply(const uint8_t* buf, size_t len, uint32_t* gen) {
  for (size_t at = 0; at + sizeof(nlmsghdr) <= len;) {
    nlmsghdr hdr;
    memcpy(&hdr, buf + at, sizeof hdr);
    if (hdr.nlmsg_len < sizeof hdr || at + hdr.nlmsg_len > len) return EBADMSG;
    const uint8_t* body = buf + at + sizeof hdr;
    size_t bodyLen = hdr.nlmsg_len - sizeof hdr;
    if (hdr.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr err;
      if (bodyLen < sizeof err) return EBADMSG;
      memcpy(&err, body, sizeof err);
      return err.error ? -err.error : EBADMSG;  // error 0 is an ack, which GETGEN without NLM_F_ACK never sends
    }
    if (hdr.nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN) && hdr.nlmsg_seq == kSequence) {
      for (size_t a = NLMSG_ALIGN(sizeof(nfgenmsg)); a + sizeof(nlattr) <= bodyLen;) {
        nlattr attr;
        memcpy(&attr, body + a, sizeof attr);
        if (attr.nla_len < sizeof attr || a + attr.nla_len > bodyLen) return EBADMSG;
        if ((attr.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && attr.nla_len >= sizeof attr + sizeof(uint32_t)) {
          uint32_t be;
          memcpy(&be, body + a + sizeof attr, sizeof be);
          *gen = ntohl(be);
          return 0;
        }
        a += NLA_ALIGN(attr.nla_len);
      }
      return EBADMSG;
    }
    at += NLMSG_ALIGN(hdr.nlmsg_len);
  }
  return EBADMSG;
}

// nftGeneration(netns?: string) -> number (u32); throws an errno error (syscall names the step) on failure
Napi::Value NftGeneration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "nftGeneration");
  std::string netns = info.Length() > 0 && !info[0].IsUndefined() ? a.string(0, "netns") : "";
  if (!a.ok()) return env.Undefined();
  SocketFd sock{-1};
  {
    NetnsGuard guard(netns);
    if (guard.error()) {
      errnoError(env, guard.error(), guard.step(), netns).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sock.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  }
  if (sock.fd < 0) {
    errnoError(env, errno, "socket", "AF_NETLINK NETLINK_NETFILTER").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  timeval timeout{kReceiveTimeoutMs / 1000, (kReceiveTimeoutMs % 1000) * 1000};
  setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  GenRequest req{};
  req.hdr.nlmsg_len = sizeof req;
  req.hdr.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  req.hdr.nlmsg_flags = NLM_F_REQUEST;
  req.hdr.nlmsg_seq = kSequence;
  req.gen.nfgen_family = AF_UNSPEC;
  req.gen.version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(sock.fd, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    errnoError(env, errno, "sendto", "NFT_MSG_GETGEN").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  alignas(nlmsghdr) uint8_t buf[512];
  ssize_t n;
  do n = recv(sock.fd, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    errnoError(env, errno, "recv", "NFT_MSG_NEWGEN").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t gen = 0;
  if (int err = parseReply(buf, size_t(n), &gen)) {
    errnoError(env, err, "nft getgen", "the kernel's reply to NFT_MSG_GETGEN").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, gen);
}

}  // namespace

void InitNetlinkGeneration(Napi::Env env, Napi::Object exports) {
  exports.Set("nftGeneration", Napi::Function::New(env, NftGeneration, "nftGeneration"));
}

}  // namespace weft
