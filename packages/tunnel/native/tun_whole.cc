// NativeTun whole mode: super-packets are read as they are, not split. The kernel's virtio header goes to the
// first kVnetHdrLen bytes of the slot and the packet to the slot's headroom, in one readv, so the payload is
// never copied in userspace; a sender that hands packets to the kernel whole (NativeTap) reads the header back
// from the slot's start. A packet without GSO whose checksum the kernel left partial gets it completed here (and
// NEEDS_CSUM cleared), so it can leave by any path, a plain UDP socket included.
#include <sys/uio.h>

#include <cerrno>

#include "checksum.h"
#include "tun.h"

namespace weft {

/** Completes a partial checksum of a non-GSO packet in place; false when its offsets lie outside the packet. */
static bool completeWhole(uint8_t* vnet, uint8_t* pkt, size_t len) {
  VnetHdr h = decodeVnetHdr(vnet);
  if (h.gsoType != kGsoNone || !(h.flags & kVnetNeedsCsum)) return true;
  if (size_t(h.csumStart) + h.csumOffset + 2 > len) return false;
  wr16(pkt + h.csumStart + h.csumOffset, uint16_t(~csumFold(csumAdd(pkt + h.csumStart, len - h.csumStart, 0))));
  vnet[0] &= uint8_t(~kVnetNeedsCsum);
  return true;
}

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
    size_t len = size_t(r) - kVnetHdrLen;
    if (!completeWhole(slot, slot + headroom, len)) {
      rxMalformed_++;
      continue;
    }
    if (slot[1] != kGsoNone) rxSuper_++;
    lengths[n++] = int32_t(len);
  }
  return n;
}

}  // namespace weft
