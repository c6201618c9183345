// A TypeScript version of the addon's TCP super-packet split, kept as a cross-check of the native code and to
// measure the choice of doing segmentation natively (bench:tunnel reports both per 64 KB super-packet).
import type { PacketBatch } from './batch.ts';
import { SplitResult, VNET_HDR_LENGTH } from './offload.ts';

/** One's-complement sum of b[start..end) as big-endian 16-bit words, unfolded. */
function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i < end) acc += b[i]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/**
 * Same contract as splitSuperPacket() for TCPv4 super-packets (IPv4 without options); anything else is
 * MALFORMED here. Writes segments into batch slots at `headroom` and returns their number.
 */
export function splitSuperPacketTs(pkt: Uint8Array, batch: PacketBatch, headroom: number): number {
  if (pkt.length < VNET_HDR_LENGTH + 40) return SplitResult.MALFORMED;
  const v = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
  const gsoType = pkt[1]! & 0x7f;
  const mss = v.getUint16(4, true);
  const ipLen = v.getUint16(6, true);
  const ip = VNET_HDR_LENGTH;
  if (gsoType !== 1 || pkt[ip]! !== 0x45 || ipLen !== 20 || pkt[ip + 9] !== 6 || mss === 0)
    return SplitResult.MALFORMED;
  const tcpLen = (pkt[ip + 32]! >> 4) * 4;
  const hdr = ipLen + tcpLen;
  const payload = pkt.length - ip - hdr;
  if (tcpLen < 20 || payload <= 0 || hdr + mss > batch.slotSize - headroom) return SplitResult.MALFORMED;
  const nseg = Math.ceil(payload / mss);
  if (nseg > batch.capacity) return SplitResult.NO_ROOM;
  const seq = v.getUint32(ip + 24);
  const id = v.getUint16(ip + 4);
  const flags = pkt[ip + 33]!;
  const slab = batch.slab;
  const out = new DataView(slab.buffer, slab.byteOffset, slab.byteLength);
  for (let i = 0; i < nseg; i++) {
    const at = i * batch.slotSize + headroom;
    const segPay = Math.min(mss, payload - i * mss);
    const len = hdr + segPay;
    slab.set(pkt.subarray(ip, ip + hdr), at);
    slab.set(pkt.subarray(ip + hdr + i * mss, ip + hdr + i * mss + segPay), at + hdr);
    out.setUint16(at + 2, len);
    out.setUint16(at + 4, (id + i) & 0xffff);
    out.setUint16(at + 10, 0);
    out.setUint16(at + 10, 0xffff - fold(sum16(slab, at, at + 20, 0)));
    out.setUint32(at + 24, (seq + i * mss) >>> 0);
    let f = flags;
    if (i !== nseg - 1) f &= ~0x09; // FIN, PSH on the last segment only
    if (i !== 0) f &= ~0x80; // CWR on the first only
    slab[at + 33] = f;
    out.setUint16(at + 36, 0);
    const pseudo = sum16(slab, at + 12, at + 20, 0) + 6 + (len - 20);
    out.setUint16(at + 36, 0xffff - fold(sum16(slab, at + 20, at + len, pseudo)));
    batch.offsets[i] = at;
    batch.lengths[i] = len;
    batch.peers[i] = -1;
  }
  batch.count = nseg;
  return nseg;
}
