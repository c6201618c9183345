// Internet checksum (RFC 1071) helpers. Sums are accumulated in 64 bits and folded once at the end.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace weft {

/**
 * Adds the bytes of p[0..n) to a running one's-complement sum. Words are summed in host (little-endian) order,
 * 64 bits at a time with the carries kept in a 128-bit accumulator; one's-complement addition does not depend on
 * the word size or byte order as long as csumFold() folds the same way, which it does (RFC 1071 section 2).
 */
inline uint64_t csumAdd(const uint8_t* p, size_t n, uint64_t sum) {
  unsigned __int128 acc = sum;
  while (n >= 32) {
    uint64_t a, b, c, d;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&c, p + 16, 8);
    memcpy(&d, p + 24, 8);
    acc += a;
    acc += b;
    acc += c;
    acc += d;
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    acc += a;
    p += 8;
    n -= 8;
  }
  uint64_t lo = uint64_t(acc), hi = uint64_t(acc >> 64);
  uint64_t s = lo + hi;
  if (s < lo) s++;  // end-around carry
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  if (n >= 4) {
    uint32_t a;
    memcpy(&a, p, 4);
    s += a;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t a;
    memcpy(&a, p, 2);
    s += a;
    p += 2;
    n -= 2;
  }
  if (n) s += *p;  // the odd byte is the high byte of a big-endian word: on little-endian that is the low byte
  return s;
}

/** Folds a sum to 16 bits, in network byte order value (not complemented). */
inline uint16_t csumFold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t v = static_cast<uint16_t>(sum);
  return static_cast<uint16_t>((v >> 8) | (v << 8));  // host (little-endian) to the value as read big-endian
}

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

/** Host-order sum of a 16-bit big-endian value, for adding header fields to a csumAdd() sum. */
inline uint64_t csumWord(uint16_t beValue) { return static_cast<uint16_t>((beValue >> 8) | (beValue << 8)); }

/**
 * Sum of the TCP/UDP pseudo-header (RFC 793 3.1, RFC 8200 8.1) for an IP packet starting at ip.
 * version 4: src/dst at 12..20; version 6: src/dst at 8..40.
 */
inline uint64_t pseudoHeaderSum(const uint8_t* ip, int version, uint8_t proto, uint32_t l4len) {
  uint64_t sum = version == 4 ? csumAdd(ip + 12, 8, 0) : csumAdd(ip + 8, 32, 0);
  sum += csumWord(proto);
  sum += csumWord(uint16_t(l4len >> 16));
  sum += csumWord(uint16_t(l4len & 0xffff));
  return sum;
}

/** Recomputes an IPv4 header checksum in place (header length ihl bytes). */
inline void ipv4HeaderChecksum(uint8_t* ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  wr16(ip + 10, static_cast<uint16_t>(~csumFold(csumAdd(ip, ihl, 0))));
}

}  // namespace weft
