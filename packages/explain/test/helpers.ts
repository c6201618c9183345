// Real packets for the tests, built with @weft/encap's codecs, and a tshark runner.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpProtocol, encodeIpv4Header, internetChecksum } from '@weft/encap';
import { parseIpv4 } from '@weft/netaddr';
import { run } from '@weft/lab';
import { Explainer, readCapture, type ExplainedPacket } from '../src/index.ts';

/** An IPv4 ICMP echo request from `src` to `dst` with `payload`, placed at `headroom` in a new buffer. */
export function icmpEcho(
  src: string,
  dst: string,
  seq: number,
  payload = 'weft explain',
  headroom = 0,
  ttl = 64,
): { buf: Buffer; offset: number; length: number } {
  const data = Buffer.from(payload);
  const length = 20 + 8 + data.length;
  const buf = Buffer.alloc(headroom + length);
  const o = headroom;
  encodeIpv4Header(
    {
      dscp: 0,
      ecn: 0,
      totalLength: length,
      identification: seq,
      flags: 2,
      fragmentOffset: 0,
      ttl,
      protocol: IpProtocol.Icmp,
      src: parseIpv4(src),
      dst: parseIpv4(dst),
      options: Buffer.alloc(0),
    },
    buf,
    o,
  );
  buf[o + 20] = 8;
  buf.writeUInt16BE(0x4242, o + 24);
  buf.writeUInt16BE(seq, o + 26);
  data.copy(buf, o + 28);
  buf.writeUInt16BE(internetChecksum(buf, o + 20, 8 + data.length), o + 22);
  return { buf, offset: o, length };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'expl-'));
}

/** tshark's stderr without the notice it prints whenever it runs as root (not about the file). */
export function tsharkStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/^Running as user "root"/.test(l))
    .join('\n');
}

/** Every packet of the pcap or pcapng `file`, explained as `weft explain` shows it (numbered from 1). */
export function explainFile(file: string): ExplainedPacket[] {
  const ex = new Explainer();
  return readCapture(readFileSync(file)).map((p, i) => ex.explain(p.data, { ...p, number: i + 1 }));
}

/** Runs `tshark -r file ... -T json` and returns the packets' `_source.layers` plus stderr. */
export async function tsharkJson(
  file: string,
  extra: string[] = [],
): Promise<{ layers: Record<string, unknown>[]; stderr: string; code: number }> {
  const r = await run(
    [
      'tshark',
      '-r',
      file,
      '-T',
      'json',
      '--no-duplicate-keys',
      '-d',
      'udp.port==8472,vxlan',
      '-d',
      'udp.port==8285,ip',
      ...extra,
    ],
    { allowFailure: true, timeoutMs: 30_000 },
  );
  const packets = r.code === 0 ? (JSON.parse(r.stdout) as { _source: { layers: Record<string, unknown> } }[]) : [];
  return { layers: packets.map((p) => p._source.layers), stderr: tsharkStderr(r.stderr), code: r.code };
}

/** Every value of `key` anywhere inside a tshark JSON tree, in document order. */
export function tsharkValues(tree: unknown, key: string): string[] {
  const out: string[] = [];
  const walk = (t: unknown): void => {
    if (!t || typeof t !== 'object') return;
    for (const [k, v] of Object.entries(t)) {
      if (k === key)
        for (const x of Array.isArray(v) ? v : [v]) if (x === null || typeof x !== 'object') out.push(String(x));
      walk(v);
    }
  };
  walk(tree);
  return out;
}

/** An IPv4 TCP segment (20-byte header, no options) carrying `payload`; the TCP checksum is left 0. */
export function tcpSegment(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  seq: number,
  flags: number,
  payload: Uint8Array = new Uint8Array(0),
): Buffer {
  const buf = Buffer.alloc(40 + payload.length);
  encodeIpv4Header(
    {
      dscp: 0,
      ecn: 0,
      totalLength: buf.length,
      identification: 1,
      flags: 2,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IpProtocol.Tcp,
      src: parseIpv4(src),
      dst: parseIpv4(dst),
      options: Buffer.alloc(0),
    },
    buf,
    0,
  );
  buf.writeUInt16BE(sport, 20);
  buf.writeUInt16BE(dport, 22);
  buf.writeUInt32BE(seq >>> 0, 24);
  buf[32] = 5 << 4;
  buf[33] = flags;
  buf.writeUInt16BE(64240, 34);
  buf.set(payload, 40);
  return buf;
}
