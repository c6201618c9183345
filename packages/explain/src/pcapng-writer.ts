// Capture writer for the agent: records what the dataplane sees on both sides of the encapsulation as pcapng
// (draft-ietf-opsawg-pcapng), one interface per side, so Wireshark, tshark and `weft explain` show each packet
// before and after encapsulation.
//
// Design notes
// - Interface 0 "tun": LINKTYPE_RAW (101), the IP packet as read from or written to the TUN device.
// - Interface 1 "wire": also LINKTYPE_RAW. The dataplane only sees the UDP payload (the kernel's socket adds the
//   outer IP and UDP headers), so the writer synthesizes the outer header of the underlay the datagram crossed
//   from the node's underlay address/port and the peer's: IPv4 + UDP (28 bytes, valid IP checksum, UDP checksum 0,
//   which IPv4 allows) or, given the peer's IPv6 address, IPv6 + UDP (48 bytes, with the UDP checksum IPv6 requires,
//   RFC 8200 section 8.1). LINKTYPE_RAW carries both families (the version nibble tells them apart), so one file
//   holds a dual-stack node's traffic. tshark then decodes VXLAN with `-d udp.port==8472,vxlan` (4789 is built in)
//   and flannel-udp with `-d udp.port==8285,ip` (its IP dissector reads IPv6 packets too).
// - Direction rides in each Enhanced Packet Block's epb_flags option (inbound/outbound), as Wireshark shows it.
// - Hot path: `record` copies the packet into one preallocated buffer (no allocation per packet); the buffer goes
//   to the sink when full, on a timer and on close. When the writer is off the agent holds no writer at all, so
//   the cost is one null check.
// - Bounded: once the next block would take the file past `maxBytes`, packets are skipped and counted per side;
//   close() appends one Interface Statistics Block per side (isb_ifdrop = skipped packets), which fits in a
//   reserve kept below the bound.
import { closeSync, openSync, writeSync } from 'node:fs';
import { internetChecksum, ipv6UpperLayerChecksum } from '@weft/encap';

/** Which side of the encapsulation a packet was seen on; also its interface ID in the file. */
export enum CaptureSide {
  Tun = 0,
  Wire = 1,
}

/** epb_flags direction bits (draft-ietf-opsawg-pcapng §4.3.1). */
export enum CaptureDirection {
  Inbound = 1,
  Outbound = 2,
}

/** Where the bytes go. `write` must consume the chunk before returning (it is reused). */
export interface CaptureSink {
  write(chunk: Uint8Array): void;
  close(): void;
}

export interface PcapngWriterOptions {
  /** This node's underlay IPv4 address (uint32) and the backend's UDP port: one end of the synthesized header. */
  localAddress: number;
  localPort: number;
  /** This node's underlay IPv6 address (16 bytes), the local end of datagrams over the IPv6 underlay. Default ::. */
  localAddress6?: Uint8Array;
  /** File size bound in bytes. Default 64 MiB. */
  maxBytes?: number;
  /** Bytes kept of each packet (the rest is counted in its original length). Default 65535. */
  snapLength?: number;
  /** Buffered bytes before a write to the sink. Default 256 KiB (at least snapLength + 128). */
  bufferBytes?: number;
  /** Microseconds since the epoch; injectable for tests. Default: performance.timeOrigin + performance.now(). */
  clockMicros?: () => number;
  /** Interface names shown by Wireshark. Default "tun" / "wire". */
  tunName?: string;
  wireName?: string;
}

/** Synthesized outer header on the wire side: 20 IPv4 + 8 UDP. */
export const CAPTURE_OUTER_HEADER_LENGTH = 28;
/** The same over the IPv6 underlay: 40 IPv6 + 8 UDP. */
export const CAPTURE_OUTER_HEADER_LENGTH_V6 = 48;
const NO_ADDRESS6 = new Uint8Array(16);
const LINKTYPE_RAW = 101;
const EPB_HEADER = 28; // type, length, interface, ts high, ts low, captured, original
const EPB_TRAILER = 16; // epb_flags option (4 + 4), opt_endofopt (4), length (4)
const ISB_LENGTH = 60; // 24 fixed + isb_ifdrop (4 + 8) + opt_endofopt (4) + comment-free; see isb()
const TWO_32 = 2 ** 32;

const pad4 = (n: number) => (n + 3) & ~3;

export interface CaptureStats {
  packets: number;
  bytes: number;
  /** Packets not written because of the size bound, per side (index = CaptureSide). */
  skipped: [number, number];
}

export class PcapngWriter {
  readonly stats: CaptureStats = { packets: 0, bytes: 0, skipped: [0, 0] };
  private readonly buf: Buffer;
  /** Same memory as `buf`: DataView stores cost a fraction of Buffer's write methods on the hot path. */
  private readonly dv: DataView;
  private used = 0;
  private readonly maxBytes: number;
  private readonly snap: number;
  private readonly clock: () => number;
  private closed = false;

  /** Writes the section header and both interface descriptions into the buffer (flushed with the first packets). */
  constructor(
    private readonly sink: CaptureSink,
    private readonly opts: PcapngWriterOptions,
  ) {
    this.snap = opts.snapLength ?? 65535;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.buf = Buffer.alloc(Math.max(opts.bufferBytes ?? 256 * 1024, this.snap + 128));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.clock = opts.clockMicros ?? (() => (performance.timeOrigin + performance.now()) * 1000);
    this.header();
  }

  /** Opens `path` (truncating it) and returns a writer flushing to it every `flushMs` (default 1000) and on close. */
  static open(path: string, opts: PcapngWriterOptions & { flushMs?: number }): PcapngWriter {
    const fd = openSync(path, 'w');
    let timer: NodeJS.Timeout | undefined;
    const sink: CaptureSink = {
      write: (chunk) => {
        for (let o = 0; o < chunk.length; ) o += writeSync(fd, chunk, o, chunk.length - o);
      },
      close: () => {
        clearInterval(timer);
        closeSync(fd);
      },
    };
    const w = new PcapngWriter(sink, opts);
    timer = setInterval(() => w.flush(), opts.flushMs ?? 1000);
    timer.unref();
    return w;
  }

  /** File bytes so far (written and buffered). */
  get size(): number {
    return this.stats.bytes;
  }

  /**
   * Records the packet at `[offset, offset + length)` of `buf` (copied; the caller keeps its buffer). Tun side: an
   * IP packet. Wire side: a UDP payload (VXLAN header + inner frame, or the flannel-udp IP packet) exchanged with
   * `peerAddress`:`peerPort` (uint32 IPv4, UDP port), outbound unless said otherwise; over the IPv6 underlay
   * `peerAddress6` (16 bytes) names the peer instead. Returns false when the size bound made it skip the packet
   * (counted in stats.skipped), or after close. Never throws for packet content.
   */
  record(
    side: CaptureSide,
    buf: Uint8Array,
    offset: number,
    length: number,
    direction = CaptureDirection.Outbound,
    peerAddress = 0,
    peerPort = 0,
    peerAddress6?: Uint8Array,
  ): boolean {
    if (this.closed) return false;
    const v6 = side === CaptureSide.Wire && peerAddress6 !== undefined;
    const outer = side !== CaptureSide.Wire ? 0 : v6 ? CAPTURE_OUTER_HEADER_LENGTH_V6 : CAPTURE_OUTER_HEADER_LENGTH;
    const captured = Math.min(outer + length, this.snap);
    const block = EPB_HEADER + pad4(captured) + EPB_TRAILER;
    if (this.stats.bytes + block + 2 * ISB_LENGTH > this.maxBytes) {
      this.stats.skipped[side]++;
      return false;
    }
    if (this.used + block > this.buf.length) this.flush();
    const dv = this.dv;
    let o = this.used;
    const ts = this.clock();
    dv.setUint32(o, 6, true);
    dv.setUint32(o + 4, block, true);
    dv.setUint32(o + 8, side, true);
    dv.setUint32(o + 12, Math.floor(ts / TWO_32), true);
    dv.setUint32(o + 16, Math.floor(ts % TWO_32), true);
    dv.setUint32(o + 20, captured, true);
    dv.setUint32(o + 24, outer + length, true);
    o += EPB_HEADER;
    if (v6) this.outerHeader6(o, length, direction, peerAddress6, peerPort);
    else if (outer) this.outerHeader(o, length, direction, peerAddress, peerPort);
    this.copyIn(buf, offset, captured - outer, o + outer);
    if (v6 && captured === outer + length) this.udpChecksum6(o, length);
    o += captured;
    for (const end = o + pad4(captured) - captured; o < end; o++) this.buf[o] = 0;
    dv.setUint32(o, 2 | (4 << 16), true); // epb_flags, 4 bytes
    dv.setUint32(o + 4, direction, true);
    dv.setUint32(o + 8, 0, true); // opt_endofopt
    dv.setUint32(o + 12, block, true);
    this.used += block;
    this.stats.bytes += block;
    this.stats.packets++;
    return true;
  }

  /** Copies without creating a view object when the source is a Buffer (Buffer.copy takes offsets). */
  private copyIn(src: Uint8Array, from: number, n: number, to: number): void {
    if (Buffer.isBuffer(src)) src.copy(this.buf, to, from, from + n);
    else this.buf.set(src.subarray(from, from + n), to);
  }

  /** Hands buffered bytes to the sink. */
  flush(): void {
    if (this.used === 0) return;
    this.sink.write(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Appends per-interface statistics (skipped packets), flushes and closes the sink. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.isb(CaptureSide.Tun);
    this.isb(CaptureSide.Wire);
    this.flush();
    this.sink.close();
  }

  /** IPv4 (RFC 791) + UDP (RFC 768) around a wire-side payload of `length` bytes. */
  private outerHeader(o: number, length: number, direction: CaptureDirection, peer: number, peerPort: number): void {
    const dv = this.dv;
    const out = direction !== CaptureDirection.Inbound;
    dv.setUint32(o, 0x45000000 | Math.min(CAPTURE_OUTER_HEADER_LENGTH + length, 0xffff));
    dv.setUint32(o + 4, 0x4000); // identification 0; DF, as the kernel sets it on tunnel datagrams
    dv.setUint32(o + 8, 0x40110000); // TTL 64, protocol 17 (UDP), checksum 0 until computed
    dv.setUint32(o + 12, out ? this.opts.localAddress : peer);
    dv.setUint32(o + 16, out ? peer : this.opts.localAddress);
    dv.setUint16(o + 10, internetChecksum(this.buf, o, 20));
    dv.setUint16(o + 20, out ? this.opts.localPort : peerPort);
    dv.setUint16(o + 22, out ? peerPort : this.opts.localPort);
    dv.setUint32(o + 24, (Math.min(8 + length, 0xffff) << 16) >>> 0); // length, checksum 0 (none)
  }

  /** IPv6 (RFC 8200) + UDP around a wire-side payload of `length` bytes; the UDP checksum comes after the copy. */
  private outerHeader6(
    o: number,
    length: number,
    direction: CaptureDirection,
    peer: Uint8Array,
    peerPort: number,
  ): void {
    const dv = this.dv;
    const out = direction !== CaptureDirection.Inbound;
    const udpLength = Math.min(8 + length, 0xffff);
    dv.setUint32(o, 0x60000000); // version 6, traffic class 0, flow label 0
    dv.setUint16(o + 4, udpLength); // payload length: the UDP datagram
    dv.setUint16(o + 6, (17 << 8) | 64); // next header UDP, hop limit 64
    const local = this.opts.localAddress6 ?? NO_ADDRESS6;
    const src = out ? local : peer;
    const dst = out ? peer : local;
    for (let k = 0; k < 16; k++) {
      this.buf[o + 8 + k] = src[k] ?? 0; // a byte loop: no view object per packet
      this.buf[o + 24 + k] = dst[k] ?? 0;
    }
    dv.setUint16(o + 40, out ? this.opts.localPort : peerPort);
    dv.setUint16(o + 42, out ? peerPort : this.opts.localPort);
    dv.setUint32(o + 44, (udpLength << 16) >>> 0); // length, checksum 0 until computed
  }

  /** The UDP checksum of the IPv6 datagram at `o` (pseudo-header included); 0 is sent as 0xffff (RFC 768). */
  private udpChecksum6(o: number, length: number): void {
    const sum = ipv6UpperLayerChecksum(this.buf, o, o + 40, 8 + length, 17);
    this.dv.setUint16(o + 46, sum === 0 ? 0xffff : sum);
  }

  private header(): void {
    const shb = this.block(0x0a0d0d0a, (b, o) => {
      b.writeUInt32LE(0x1a2b3c4d, o);
      b.writeUInt16LE(1, o + 4); // major version
      b.writeUInt16LE(0, o + 6);
      b.writeInt32LE(-1, o + 8); // section length unknown (64 bits of ones)
      b.writeInt32LE(-1, o + 12);
      return 16 + this.option(o + 16, 4, Buffer.from('weft'));
    });
    const idb = (name: string) =>
      this.block(1, (b, o) => {
        b.writeUInt16LE(LINKTYPE_RAW, o);
        b.writeUInt16LE(0, o + 2);
        b.writeUInt32LE(this.snap, o + 4);
        let n = 8 + this.option(o + 8, 2, Buffer.from(name));
        n += this.option(o + n, 9, Buffer.from([6])); // if_tsresol: microseconds
        return n;
      });
    this.stats.bytes += shb + idb(this.opts.tunName ?? 'tun') + idb(this.opts.wireName ?? 'wire');
  }

  private isb(side: CaptureSide): void {
    this.block(5, (b, o) => {
      const ts = this.clock();
      b.writeUInt32LE(side, o);
      b.writeUInt32LE(Math.floor(ts / TWO_32), o + 4);
      b.writeUInt32LE(Math.floor(ts % TWO_32), o + 8);
      const drops = Buffer.alloc(8);
      drops.writeBigUInt64LE(BigInt(this.stats.skipped[side]));
      return 12 + this.option(o + 12, 5, drops); // isb_ifdrop
    });
  }

  /** Writes an option (code, length, value padded to 4) at `o`; returns its size. */
  private option(o: number, code: number, value: Buffer): number {
    this.buf.writeUInt16LE(code, o);
    this.buf.writeUInt16LE(value.length, o + 2);
    value.copy(this.buf, o + 4);
    this.buf.fill(0, o + 4 + value.length, o + 4 + pad4(value.length));
    return 4 + pad4(value.length);
  }

  /** Writes a block whose body `body` fills (returning its length, options included); adds opt_endofopt. */
  private block(type: number, body: (b: Buffer, o: number) => number): number {
    if (this.used + 512 > this.buf.length) this.flush();
    const o = this.used;
    let n = body(this.buf, o + 8);
    this.buf.writeUInt32LE(0, o + 8 + n); // opt_endofopt
    n += 4;
    const len = 8 + n + 4;
    this.buf.writeUInt32LE(type, o);
    this.buf.writeUInt32LE(len, o + 4);
    this.buf.writeUInt32LE(len, o + 8 + n);
    this.used += len;
    return len;
  }
}
