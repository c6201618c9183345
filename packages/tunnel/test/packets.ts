// Builds IPv4 UDP and TCP packets for tests, with correct checksums (computed here in plain TypeScript, so the
// addon's checksum code is checked against an independent implementation).

function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

function ipv4(buf: Uint8Array, total: number, proto: number, src: number[], dst: number[], id: number): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = 0x45;
  v.setUint16(2, total);
  v.setUint16(4, id);
  v.setUint16(6, 0x4000); // DF
  buf[8] = 64;
  buf[9] = proto;
  buf.set(src, 12);
  buf.set(dst, 16);
  v.setUint16(10, 0xffff - fold(sum16(buf, 0, 20)));
}

function l4Checksum(buf: Uint8Array, proto: number, at: number): number {
  const len = buf.length - 20;
  let acc = sum16(buf, 12, 20) + proto + len;
  acc = sum16(buf, 20, buf.length, acc);
  const c = 0xffff - fold(acc);
  return proto === 17 && c === 0 ? 0xffff : c;
}

export const addr = (s: string): number[] => s.split('.').map(Number);

/** An IPv4/UDP packet carrying payload, checksums filled in. */
export function udp4(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, id = 1): Uint8Array {
  const buf = new Uint8Array(28 + payload.length);
  ipv4(buf, buf.length, 17, addr(src), addr(dst), id);
  const v = new DataView(buf.buffer);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, 8 + payload.length);
  buf.set(payload, 28);
  v.setUint16(26, l4Checksum(buf, 17, 26));
  return buf;
}

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  window?: number;
  id?: number;
  /** TCP options (length a multiple of 4), e.g. a timestamp option. */
  options?: Uint8Array;
}

/** An IPv4/TCP packet, checksums filled in. */
export function tcp4(s: TcpSpec, payload: Uint8Array): Uint8Array {
  const opt = s.options ?? new Uint8Array(0);
  const thl = 20 + opt.length;
  const buf = new Uint8Array(20 + thl + payload.length);
  ipv4(buf, buf.length, 6, addr(s.src), addr(s.dst), s.id ?? 1);
  const v = new DataView(buf.buffer);
  v.setUint16(20, s.sport);
  v.setUint16(22, s.dport);
  v.setUint32(24, s.seq >>> 0);
  v.setUint32(28, (s.ack ?? 1) >>> 0);
  buf[32] = (thl / 4) << 4;
  buf[33] = s.flags ?? 0x10;
  v.setUint16(34, s.window ?? 502);
  buf.set(opt, 40);
  buf.set(payload, 20 + thl);
  v.setUint16(36, l4Checksum(buf, 6, 36));
  return buf;
}

/** The payload of an IPv4 UDP packet, or null when pkt is something else. */
export function udpPayload(pkt: Uint8Array): Uint8Array | null {
  if (pkt.length < 28 || pkt[0]! >> 4 !== 4 || pkt[9] !== 17) return null;
  const ihl = (pkt[0]! & 15) * 4;
  return pkt.subarray(ihl + 8);
}

/** A deterministic pseudo-random payload (xorshift), so tests can regenerate expected bytes. */
export function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls cond every 10 ms until it holds or timeoutMs passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}
