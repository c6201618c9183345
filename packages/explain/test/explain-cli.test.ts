// `weft explain` end to end: the real executable on hex arguments, stdin, a hex file and a pcapng file written by
// PcapngWriter; exit codes for bad input and bad flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIpv4 } from '@weft/netaddr';
import { run } from '@weft/lab';
import { CaptureDirection, CaptureSide, PcapngWriter } from '../src/index.ts';
import { icmpEcho, tempDir } from './helpers.ts';

const WEFT = fileURLToPath(new URL('../../../agent/bin/weft.mjs', import.meta.url));
const weft = (args: string[], input?: string) =>
  run(['node', WEFT, 'explain', ...args], { allowFailure: true, input, timeoutMs: 30_000 });
const ping = icmpEcho('10.244.1.5', '10.244.2.7', 4, 'cli');

test('hex argument: the text view has one line per field with offset, bytes, value, meaning and RFC', async () => {
  const hex = ping.buf.toString('hex').replace(/(..)/g, '$1 ');
  const r = await weft([hex]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Packet 1: 31 bytes/);
  assert.match(
    r.stdout,
    /\n {4}0x0000 {2}45 +ip\.version\/ihl +4 \/ 20 bytes +IPv4, header 20 bytes .*RFC 791 §3\.1\n/,
  );
  assert.match(r.stdout, /0x0014 {2}08 +icmp\.type +8 +echo request \(ping\) +RFC 792/);
});

test('--json from stdin: packets are arrays of layers with {name, offset, length, hex, value, meaning, rfc} fields', async () => {
  const r = await weft(['--json', '-'], `${ping.buf.toString('hex')}\n\n${ping.buf.toString('hex')}\n`);
  assert.is(r.code, 0, r.stderr);
  const packets = JSON.parse(r.stdout) as { name: string; fields: Record<string, unknown>[] }[][];
  assert.is(packets.length, 2);
  assert.equal(
    packets[0]!.map((l) => l.name),
    ['frame', 'ip', 'icmp', 'data'],
  );
  for (const f of packets.flat().flatMap((l) => l.fields))
    assert.equal(Object.keys(f), ['name', 'offset', 'length', 'hex', 'value', 'meaning', 'rfc']);
  const ttl = packets[0]![1]!.fields.find((f) => f.name === 'ip.ttl')!;
  assert.equal([ttl.offset, ttl.length, ttl.hex, ttl.value], [8, 1, '40', 64]);
});

test('a pcapng file from the capture writer: both sides, interfaces and directions named', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'c.pcapng');
    const w = PcapngWriter.open(file, { localAddress: parseIpv4('192.0.2.1'), localPort: 8285 });
    w.record(CaptureSide.Tun, ping.buf, 0, ping.length, CaptureDirection.Inbound);
    w.record(CaptureSide.Wire, ping.buf, 0, ping.length, CaptureDirection.Outbound, parseIpv4('192.0.2.2'), 8285);
    w.close();
    const r = await weft([file]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /Packet 1: 31 bytes, .*capture interface 0 "tun", inbound/);
    assert.match(r.stdout, /Packet 2: 59 bytes, .*capture interface 1 "wire", outbound/);
    assert.match(r.stdout, /\n {2}flannel-udp\n/);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '45 00 zz\n');
    const b = await weft([bad]);
    assert.is(b.code, 1);
    assert.match(b.stderr, /"z" is not a hex digit/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad flag is a usage error', async () => {
  const r = await weft(['--layer', 'ppp', '00']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--layer must be one of/);
});

test.run();
