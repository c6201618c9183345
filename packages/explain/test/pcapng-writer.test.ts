// The capture writer with real packets built by @weft/encap: the file reads back with our reader, explains to the
// same packets on both sides, respects its size bound, and opens in tshark with no warnings, VXLAN and
// flannel-udp decoded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { VXLAN_ENCAP_HEADROOM, VxlanTemplate, encapsulateVxlan, parseMac } from '@weft/encap';
import { parseIpv4 } from '@weft/netaddr';
import { canRunWith, run } from '@weft/lab';
import {
  CaptureDirection,
  CaptureSide,
  Explainer,
  PcapngWriter,
  readCapture,
  type ExplainedPacket,
} from '../src/index.ts';
import type { CaptureSink } from '../src/pcapng-writer.ts';
import { icmpEcho, tempDir, tsharkJson, tsharkValues } from './helpers.ts';

const LOCAL = parseIpv4('192.0.2.1');
const PEER = parseIpv4('192.0.2.2');
const tpl = new VxlanTemplate({
  vni: 1,
  localMac: parseMac('02:00:0a:f4:01:00'),
  peerMac: parseMac('02:00:0a:f4:02:00'),
});

class MemorySink implements CaptureSink {
  chunks: Buffer[] = [];
  closed = false;
  write(c: Uint8Array): void {
    this.chunks.push(Buffer.from(c));
  }
  close(): void {
    this.closed = true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Records `n` pings as the vxlan backend would: TUN read, then the encapsulated datagram to the peer. */
function recordVxlanPings(w: PcapngWriter, n: number): void {
  for (let i = 1; i <= n; i++) {
    const p = icmpEcho('10.244.1.5', '10.244.2.7', i, 'ping over vxlan', VXLAN_ENCAP_HEADROOM);
    w.record(CaptureSide.Tun, p.buf, p.offset, p.length, CaptureDirection.Inbound);
    const start = encapsulateVxlan(p.buf, p.offset, p.length, tpl);
    w.record(CaptureSide.Wire, p.buf, start, p.length + VXLAN_ENCAP_HEADROOM, CaptureDirection.Outbound, PEER, 8472);
  }
}

const field = (pkt: ExplainedPacket, name: string, nth = 0) =>
  pkt.flatMap((l) => l.fields).filter((f) => f.name === name)[nth]?.value;

test('both sides of each packet read back and explain to the same inner packet', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { localAddress: LOCAL, localPort: 8472, clockMicros: () => 1_700_000_000_123_456 });
  recordVxlanPings(w, 3);
  w.close();
  assert.ok(sink.closed);
  const pkts = readCapture(sink.bytes);
  assert.is(pkts.length, 6);
  assert.equal(
    pkts.map((p) => p.interfaceName),
    ['tun', 'wire', 'tun', 'wire', 'tun', 'wire'],
  );
  assert.equal(
    pkts.map((p) => p.direction),
    ['inbound', 'outbound', 'inbound', 'outbound', 'inbound', 'outbound'],
  );
  assert.is(pkts[0]!.timestamp, 1_700_000_000.123456);
  const ex = new Explainer();
  const [tun, wire] = [ex.explain(pkts[0]!.data, pkts[0]), ex.explain(pkts[1]!.data, pkts[1])];
  assert.is(field(tun, 'ip.src'), '10.244.1.5');
  assert.is(field(wire, 'ip.src'), '192.0.2.1', 'synthesized outer source is the local underlay address');
  assert.is(field(wire, 'ip.dst'), '192.0.2.2');
  assert.is(field(wire, 'udp.dstport'), 8472);
  assert.is(field(wire, 'vxlan.vni'), 1);
  assert.is(field(wire, 'ip.src', 1), '10.244.1.5', 'inner packet after encapsulation');
  assert.is(field(wire, 'ip.checksum'), '0x' + pkts[1]!.data.readUInt16BE(10).toString(16).padStart(4, '0'));
  assert.equal(
    wire.flatMap((l) => l.problems),
    [],
    'the synthesized outer header is valid',
  );
  assert.ok(pkts[1]!.data.subarray(28 + 22).equals(pkts[0]!.data), 'the wire side carries the same IP packet');
});

test('the size bound stops writing, counts what it skipped, and the file stays within it', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { localAddress: LOCAL, localPort: 8472, maxBytes: 1500 });
  recordVxlanPings(w, 20);
  w.close();
  const size = sink.bytes.length;
  assert.ok(size <= 1500, `file is ${size} bytes`);
  assert.ok(w.stats.packets >= 2 && w.stats.packets < 40);
  assert.is(w.stats.packets + w.stats.skipped[0] + w.stats.skipped[1], 40);
  assert.is(readCapture(sink.bytes).length, w.stats.packets);
  assert.not.ok(w.record(CaptureSide.Tun, Buffer.alloc(20), 0, 20), 'nothing after close');
});

if (canRunWith('pcapng writer opens in tshark', ['tshark', 'setpriv'])) {
  test('tshark reads the file without warnings and decodes VXLAN and flannel-udp on both sides', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'cap.pcapng');
      const w = PcapngWriter.open(file, { localAddress: LOCAL, localPort: 8472, maxBytes: 4000 });
      recordVxlanPings(w, 2);
      const f = icmpEcho('10.244.2.7', '10.244.1.5', 9, 'flannel-udp');
      w.record(CaptureSide.Wire, f.buf, f.offset, f.length, CaptureDirection.Inbound, PEER, 8285);
      w.record(CaptureSide.Tun, f.buf, f.offset, f.length, CaptureDirection.Outbound);
      recordVxlanPings(w, 30); // past the bound: skipped, counted in the statistics blocks
      w.close();
      assert.ok(w.stats.skipped[0] > 0 && statSync(file).size <= 4000);
      const t = await tsharkJson(file);
      assert.is(t.code, 0);
      assert.is(t.stderr, '', 'no warnings from tshark');
      assert.is(t.layers.length, w.stats.packets);
      assert.equal(
        t.layers.map((l) => tsharkValues(l, 'frame.interface_id')[0]),
        ['0', '1', '0', '1', '1', '0', ...t.layers.slice(6).map((_, i) => String(i % 2))],
      );
      const wire = t.layers[1]!;
      assert.equal(tsharkValues(wire, 'vxlan.vni'), ['1']);
      assert.equal(tsharkValues(wire, 'ip.src'), ['192.0.2.1', '10.244.1.5']);
      assert.equal(tsharkValues(wire, 'eth.src'), ['02:00:0a:f4:01:00']);
      assert.equal(tsharkValues(wire, 'icmp.type'), ['8']);
      const fudp = t.layers[4]!;
      assert.equal(
        tsharkValues(fudp, 'ip.src'),
        ['192.0.2.2', '10.244.2.7'],
        'flannel-udp: outer from the peer, then the inner packet',
      );
      assert.equal(tsharkValues(fudp, 'udp.srcport'), ['8285']);
      assert.equal(tsharkValues(t.layers[0]!, 'ip.dst'), ['10.244.2.7'], 'the TUN side is the bare IP packet');
      const ours = readCapture(readFileSync(file));
      assert.is(ours.length, t.layers.length);
      // The plain `tshark -r file`, as an unprivileged user (as root tshark always prints a notice on stderr).
      chmodSync(dir, 0o755);
      chmodSync(file, 0o644);
      const plain = await run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'tshark', '-r', file], {
        allowFailure: true,
        env: { ...process.env, HOME: dir },
      });
      assert.is(plain.code, 0);
      assert.is(plain.stderr, '', 'tshark -r prints nothing on stderr');
      assert.is(plain.stdout.trim().split('\n').length, w.stats.packets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
