// NativeTun whole mode: super-packets are read as they are, not split. The kernel's virtio header goes to the
// first kVnetHdrLen bytes of the slot and the packet to the slot's headroom, in one readv, so the payload is
// never copied in userspace; a sender that hands packets to the kernel whole (NativeTap) reads the header back
// from the slot's start.
#include <sys/uio.h>

#include <cerrno>

#include "tun.h"

namespace weft {

int NativeTun::readWhole(uint8_t* slab, size_t slotSize, size_t headroom, int32_t* lengths, int max) {
  int n = 0;
  while (n < max) {
    uint8_t* slot = slab + size_t(n) * slotSize;
    struct iovec iov[2] = {{slot, kVnetHdrLen}, {slot + headroom, slotSize - headroom}};
    ssize_t r = ::readv(fd_, iov, 2);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) lastErrno_ = errno;
      break;
    }
    if (size_t(r) < kVnetHdrLen) {
      rxMalformed_++;
      continue;
    }
    if (slot[1] != kGsoNone) rxSuper_++;
    lengths[n++] = int32_t(size_t(r) - kVnetHdrLen);
  }
  return n;
}

}  // namespace weft
