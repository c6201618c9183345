// A minimal reader for classic pcap files (what `tcpdump -w` writes): the 24-byte global header, then a 16-byte
// record header before each captured frame. Test tooling only.

export interface PcapRecord {
  /** Capture time in microseconds. */
  timeUs: number;
  data: Buffer;
}

/** Parses a pcap file with Ethernet link type (1). Throws on anything else. */
export function readPcap(file: Buffer): PcapRecord[] {
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error('not a pcap file');
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const nano = (le ? magic : file.readUInt32BE(0)) === 0xa1b23c4d;
  if (u32(20) !== 1) throw new Error(`pcap link type ${u32(20)}, expected 1 (Ethernet)`);
  const out: PcapRecord[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const caplen = u32(o + 8);
    const timeUs = u32(o) * 1e6 + (nano ? Math.floor(u32(o + 4) / 1000) : u32(o + 4));
    out.push({ timeUs, data: Buffer.from(file.subarray(o + 16, o + 16 + caplen)) });
    o += 16 + caplen;
  }
  return out;
}
