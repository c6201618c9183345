// NativeUdp's hot path: send(), recv() and the unknown-source lookup.
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "udp.h"

namespace weft {


// send(slab, offsets, lengths, peers, start, count) -> index of the first packet not sent (count when all were)
Napi::Value NativeUdp::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "send");
  size_t slabLen, offLen, lenLen, peerLen;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  int32_t* offsets = a.int32s(1, "offsets", &offLen);
  int32_t* lengths = a.int32s(2, "lengths", &lenLen);
  int32_t* peers = a.int32s(3, "peers", &peerLen);
  int start = int(a.integer(4, "start", 0, kMaxSlots)), count = int(a.integer(5, "count", 0, kMaxSlots));
  if (!a.ok() || !a.packets(slabLen, offsets, lengths, start, count, {offLen, lenLen, peerLen})) return env.Undefined();
  if (fd_ < 0) return (errnoError(env, EBADF, "sendmmsg", "socket closed").ThrowAsJavaScriptException(), env.Undefined());
  ensureSlots(size_t(count - start) + 1);
  std::vector<int>& ends = ends_;
  if (ends.size() < msgs_.size()) ends.resize(msgs_.size());
  int i = start;
  while (i < count) {
    int m = 0, iv = 0, j = i;
    while (j < count) {
      int p = peers[j];
      if (p < 0 || size_t(p) >= peers_->len.size() || !peers_->len[p]) {
        if (p >= 0) txErrors_++;  // an index that was never registered
        j++;
        continue;
      }
      size_t seg = size_t(lengths[j]), total = seg;
      int k = 1;
      if (gso_ && seg > 0) {
        while (j + k < count && k < kMaxGsoSegments && peers[j + k] == p && size_t(lengths[j + k]) <= seg &&
               lengths[j + k] > 0 && total + size_t(lengths[j + k]) <= kMaxGsoBytes) {
          total += size_t(lengths[j + k]);
          k++;
          if (size_t(lengths[j + k - 1]) < seg) break;  // only the last segment may be shorter
        }
      }
      msghdr& h = msgs_[m].msg_hdr;
      memset(&h, 0, sizeof h);
      h.msg_name = &peers_->addr[p];
      h.msg_namelen = peers_->len[p];
      h.msg_iov = &iovs_[iv];
      h.msg_iovlen = size_t(k);
      for (int q = 0; q < k; q++) iovs_[iv + q] = iovec{slab + offsets[j + q], size_t(lengths[j + q])};
      if (k > 1) {
        char* c = &cmsg_[size_t(m) * kCmsgStride];
        memset(c, 0, kCmsgStride);
        h.msg_control = c;
        h.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        cmsghdr* cm = CMSG_FIRSTHDR(&h);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s = uint16_t(seg);
        memcpy(CMSG_DATA(cm), &s, sizeof s);
      }
      iv += k;
      j += k;
      ends[m++] = j;
    }
    if (m == 0) return Napi::Number::New(env, j);
    int r = sendmmsg(fd_, msgs_.data(), unsigned(m), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) break;
      if ((errno == EIO || errno == EINVAL) && msgs_[0].msg_hdr.msg_controllen) {
        gso_ = false;  // the route's device cannot do GSO: fall back to one datagram per message, counted
        gsoDisabled_++;
        continue;
      }
      txErrors_++;  // e.g. ECONNREFUSED or EHOSTUNREACH for the first message: skip it
      i = ends[0];
      continue;
    }
    for (int q = 0; q < r; q++) {
      txPackets_ += double(msgs_[q].msg_hdr.msg_iovlen);
      if (msgs_[q].msg_hdr.msg_iovlen > 1) txGsoSends_++;
    }
    i = ends[r - 1];
  }
  return Napi::Number::New(env, i);
}

void NativeUdp::prepareRecv(int k, uint8_t* buf, size_t len, sockaddr_storage* from, char* control, size_t controlLen) {
  iovs_[k] = iovec{buf, len};
  msghdr& h = msgs_[k].msg_hdr;
  memset(&h, 0, sizeof h);
  h.msg_name = from;
  h.msg_namelen = sizeof(sockaddr_storage);
  h.msg_iov = &iovs_[k];
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = controlLen;
}

int NativeUdp::recvBatch(int count) {
  int r;
  do r = recvmmsg(fd_, msgs_.data(), unsigned(count), MSG_DONTWAIT, nullptr);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno != EAGAIN) lastErrno_ = errno;
  return 0;
}

int NativeUdp::recvPlain(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int max) {
  for (int k = 0; k < max; k++) {
    prepareRecv(k, slab + size_t(k) * slotSize + headroom, slotSize - headroom, &slotAddr_[k], nullptr, 0);
  }
  int r = recvBatch(max);
  for (int k = 0; k < r; k++) {
    lengths[k] = int32_t(msgs_[k].msg_len);
    if (msgs_[k].msg_hdr.msg_flags & MSG_TRUNC) rxTruncated_++;
    peers[k] = lookup(slotAddr_[k]);
    if (peers[k] < 0) rxUnknown_++;
  }
  return r;
}

int NativeUdp::deliverGro(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int n,
                          int max) {
  size_t cap = slotSize - headroom;
  while (n < max && groHead_ < groQueue_.size()) {
    GroPending& g = groQueue_[groHead_];
    size_t len = g.len - g.pos < g.seg ? g.len - g.pos : g.seg;
    if (len > cap) {
      rxTruncated_++;
    } else {
      memcpy(slab + size_t(n) * slotSize + headroom, &groBuf_[size_t(g.slot) * kGroBufSize + g.pos], len);
      lengths[n] = int32_t(len);
      peers[n] = g.peer;
      if (g.peer < 0) slotAddr_[n] = groAddr_[g.slot];
      n++;
    }
    g.pos += len;
    if (g.pos >= g.len) groHead_++;
  }
  return n;
}

int NativeUdp::recvGro(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int32_t* peers, int max) {
  int n = deliverGro(slab, slotSize, headroom, lengths, peers, 0, max);
  if (n == max) return n;
  groQueue_.clear();
  groHead_ = 0;
  for (int k = 0; k < kGroBufs; k++) {
    prepareRecv(k, &groBuf_[size_t(k) * kGroBufSize], kGroBufSize, &groAddr_[k], &cmsg_[size_t(k) * kCmsgStride], kCmsgStride);
  }
  int r = recvBatch(kGroBufs);
  for (int k = 0; k < r; k++) {
    msghdr& h = msgs_[k].msg_hdr;
    size_t len = msgs_[k].msg_len, seg = len;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
      if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
        int s;
        memcpy(&s, CMSG_DATA(cm), sizeof s);
        if (s > 0) seg = size_t(s);
      }
    }
    if (seg < len) rxGro_++;
    int peer = lookup(groAddr_[k]);
    // An empty datagram is still one datagram: delivered as a zero-length slot, so the caller counts it.
    if (peer < 0) rxUnknown_ += len == 0 ? 1.0 : double((len + seg - 1) / seg);
    groQueue_.push_back(GroPending{len, 0, seg, peer, k});
  }
  return deliverGro(slab, slotSize, headroom, lengths, peers, n, max);
}

// recv(slab, slotSize, headroom, offsets, lengths, peers, max) -> count; peers[i] = -1 for an unknown source
Napi::Value NativeUdp::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "recv");
  size_t slabLen, offLen, lenLen, peerLen;
  uint8_t* slab = a.bytes(0, "slab", &slabLen);
  size_t slotSize = size_t(a.integer(1, "slotSize", 1, kMaxSlotSize));
  size_t headroom = size_t(a.integer(2, "headroom", 0, kMaxSlotSize));
  int32_t* offsets = a.int32s(3, "offsets", &offLen);
  int32_t* lengths = a.int32s(4, "lengths", &lenLen);
  int32_t* peers = a.int32s(5, "peers", &peerLen);
  int max = int(a.integer(6, "max", 0, kMaxSlots));
  if (!a.slots(slabLen, slotSize, headroom, max, {offLen, lenLen, peerLen})) return env.Undefined();
  if (fd_ < 0) return (errnoError(env, EBADF, "recvmmsg", "socket closed").ThrowAsJavaScriptException(), env.Undefined());
  ensureSlots(size_t(max) > size_t(kGroBufs) ? size_t(max) : size_t(kGroBufs));
  lastErrno_ = 0;
  int n = gro_ || groHead_ < groQueue_.size() ? recvGro(slab, slotSize, headroom, lengths, peers, max)
                                              : recvPlain(slab, slotSize, headroom, lengths, peers, max);
  for (int k = 0; k < n; k++) offsets[k] = int32_t(size_t(k) * slotSize + headroom);
  rxPackets_ += n;
  if (n == 0 && lastErrno_) {
    errnoError(env, lastErrno_, "recvmmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, n);
}

// sourceOf(slot) -> { address, port } of the datagram in that slot of the last recv (for unknown sources)
Napi::Value NativeUdp::SourceOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "sourceOf");
  int64_t k = a.integer(0, "slot", 0, kMaxSlots);
  if (!a.ok()) return env.Undefined();
  if (size_t(k) >= slotAddr_.size()) return env.Null();
  const sockaddr_storage& sa = slotAddr_[k];
  char text[INET6_ADDRSTRLEN] = {0};
  uint16_t port;
  if (sa.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &s->sin_addr, text, sizeof text);
    port = ntohs(s->sin_port);
  } else {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&sa);
    inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof text);
    port = ntohs(s->sin6_port);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", Napi::String::New(env, text));
  o.Set("port", Napi::Number::New(env, port));
  return o;
}

}  // namespace weft
