// Reading capture files: classic pcap (tcpdump.org "PCAP Capture File Format", either byte order, micro- or
// nanosecond timestamps) and pcapng (draft-ietf-opsawg-pcapng: Section Header, Interface Description, Enhanced and
// Simple Packet blocks; other blocks are skipped). Pure: takes the whole file as bytes.

/** A capture file that cannot be read; `offset` is where in the file the problem is. */
export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at file offset ${offset}`);
  }
}

export interface CapturedPacket {
  /** The captured bytes (a view into the file buffer). */
  data: Buffer;
  linkType: number;
  /** Seconds since the epoch, with fraction. */
  timestamp: number;
  originalLength: number;
  interfaceId: number;
  interfaceName?: string;
  /** From pcapng epb_flags bits 0-1. */
  direction?: 'inbound' | 'outbound';
}

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** 'pcap', 'pcapng' or null, from the first four bytes. */
export function captureKind(buf: Uint8Array): 'pcap' | 'pcapng' | null {
  if (buf.length < 4) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, 4);
  const be = b.readUInt32BE(0);
  const le = b.readUInt32LE(0);
  if (be === PCAPNG_SHB) return 'pcapng';
  if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(le)) return 'pcap';
  return null;
}

/** Every packet of a pcap or pcapng file. Throws CaptureFormatError for an unknown magic or a block that overruns the file. */
export function readCapture(file: Buffer): CapturedPacket[] {
  const kind = captureKind(file);
  if (kind === 'pcap') return readPcap(file);
  if (kind === 'pcapng') return readPcapng(file);
  throw new CaptureFormatError('not a pcap or pcapng file (unknown magic number)', 0);
}

function readPcap(f: Buffer): CapturedPacket[] {
  if (f.length < 24) throw new CaptureFormatError('pcap file header needs 24 bytes', 0);
  const le = f.readUInt32LE(0) === PCAP_MAGIC_US || f.readUInt32LE(0) === PCAP_MAGIC_NS;
  const u32 = (o: number) => (le ? f.readUInt32LE(o) : f.readUInt32BE(o));
  const nano = u32(0) === PCAP_MAGIC_NS;
  const linkType = u32(20) & 0x0fffffff;
  const out: CapturedPacket[] = [];
  for (let o = 24; o < f.length; ) {
    if (f.length - o < 16) throw new CaptureFormatError('truncated pcap record header', o);
    const incl = u32(o + 8);
    if (o + 16 + incl > f.length) throw new CaptureFormatError(`pcap record of ${incl} bytes overruns the file`, o);
    out.push({
      data: f.subarray(o + 16, o + 16 + incl),
      linkType,
      timestamp: u32(o) + u32(o + 4) / (nano ? 1e9 : 1e6),
      originalLength: u32(o + 12),
      interfaceId: 0,
    });
    o += 16 + incl;
  }
  return out;
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
  name?: string;
}

function readPcapng(f: Buffer): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  let le = true;
  let ifaces: Iface[] = [];
  for (let o = 0; o < f.length; ) {
    if (f.length - o < 12) throw new CaptureFormatError('truncated pcapng block header', o);
    if (f.readUInt32BE(o) === PCAPNG_SHB) {
      le = f.readUInt32LE(o + 8) === BYTE_ORDER_MAGIC;
      if (!le && f.readUInt32BE(o + 8) !== BYTE_ORDER_MAGIC)
        throw new CaptureFormatError('bad byte-order magic in section header', o + 8);
      ifaces = [];
    }
    const u32 = (x: number) => (le ? f.readUInt32LE(x) : f.readUInt32BE(x));
    const u16 = (x: number) => (le ? f.readUInt16LE(x) : f.readUInt16BE(x));
    const type = u32(o);
    const len = u32(o + 4);
    if (len < 12 || len % 4 || o + len > f.length)
      throw new CaptureFormatError(`pcapng block length ${len} is invalid`, o + 4);
    if (type === 1) ifaces.push(readIdb(f, o, len, u16));
    else if (type === 6) out.push(readEpb(f, o, len, u16, u32, ifaces));
    else if (type === 3 && ifaces[0]) {
      const orig = u32(o + 8);
      out.push({
        data: f.subarray(o + 12, o + 12 + Math.min(orig, len - 16)),
        linkType: ifaces[0].linkType,
        timestamp: 0,
        originalLength: orig,
        interfaceId: 0,
        interfaceName: ifaces[0].name,
      });
    }
    o += len;
  }
  return out;
}

type Reader = (o: number) => number;

function readIdb(f: Buffer, o: number, len: number, u16: Reader): Iface {
  const iface: Iface = { linkType: u16(o + 8), unitsPerSecond: 1e6 };
  for (let p = o + 16; p + 4 <= o + len - 4; ) {
    const code = u16(p);
    const olen = u16(p + 2);
    if (code === 0) break;
    if (code === 2) iface.name = f.toString('utf8', p + 4, p + 4 + olen);
    if (code === 9) {
      const r = f[p + 4]!;
      iface.unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
    }
    p += 4 + ((olen + 3) & ~3);
  }
  return iface;
}

function readEpb(f: Buffer, o: number, len: number, u16: Reader, u32: Reader, ifaces: Iface[]): CapturedPacket {
  const id = u32(o + 8);
  const iface = ifaces[id];
  if (!iface)
    throw new CaptureFormatError(`packet names interface ${id}, which no Interface Description Block defined`, o + 8);
  const ticks = u32(o + 12) * 2 ** 32 + u32(o + 16);
  const caplen = u32(o + 20);
  if (28 + caplen > len) throw new CaptureFormatError(`packet of ${caplen} bytes overruns its block`, o + 20);
  const pkt: CapturedPacket = {
    data: f.subarray(o + 28, o + 28 + caplen),
    linkType: iface.linkType,
    timestamp: ticks / iface.unitsPerSecond,
    originalLength: u32(o + 24),
    interfaceId: id,
    interfaceName: iface.name,
  };
  for (let p = o + 28 + ((caplen + 3) & ~3); p + 4 <= o + len - 4; ) {
    const code = u16(p);
    const olen = u16(p + 2);
    if (code === 0) break;
    if (code === 2 && olen === 4) {
      const dir = u32(p + 4) & 3;
      if (dir) pkt.direction = dir === 1 ? 'inbound' : 'outbound';
    }
    p += 4 + ((olen + 3) & ~3);
  }
  return pkt;
}
