// weft explain against tshark on IPv6: weft's own ICMPv6 errors (quoting a packet behind two extension headers),
// echo requests behind fragment, routing (type 2, so the checksum covers the final destination) and AH headers, a
// later fragment, neighbour discovery written by hand (NS, NA, RS, RA with link-layer, MTU, prefix and RDNSS
// options), and VXLAN datagrams with the group policy extension, over IPv4 and over the IPv6 underlay. All go
// through the capture writer into one pcapng; every field below must have the same values, in the same order, in
// our explanation and in `tshark -T json`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseIpv4 } from '@weft/netaddr';
import { canRunWith } from '@weft/lab';
import { CaptureDirection, CaptureSide, PcapngWriter, type ExplainedPacket } from '../src/index.ts';
import { explainFile, tempDir, tsharkJson, tsharkValues } from './helpers.ts';
import { chains, errors, groupPolicyDatagrams, neighbourDiscovery, vxlanOverIpv6 } from './ipv6-packets.ts';

/** Fields whose values print the same way in both (booleans as tshark's 1/0). */
const SAME = [
  'eth.src',
  'eth.dst',
  'vxlan.vni',
  'vxlan.flag_g',
  'vxlan.flag_d',
  'vxlan.flag_a',
  'vxlan.gbp',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.hopopts.nxt',
  'ipv6.hopopts.len',
  'ipv6.dstopts.nxt',
  'ipv6.dstopts.len',
  'ipv6.opt.type',
  'ipv6.opt.length',
  'ipv6.routing.nxt',
  'ipv6.routing.len',
  'ipv6.routing.type',
  'ipv6.routing.segleft',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'ah.next_header',
  'ah.length',
  'ah.spi',
  'ah.sequence',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.mtu',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.na.flag.r',
  'icmpv6.nd.na.flag.s',
  'icmpv6.nd.na.flag.o',
  'icmpv6.nd.ra.cur_hop_limit',
  'icmpv6.nd.ra.flag.m',
  'icmpv6.nd.ra.flag.o',
  'icmpv6.nd.ra.router_lifetime',
  'icmpv6.nd.ra.reachable_time',
  'icmpv6.nd.ra.retrans_timer',
  'icmpv6.opt.type',
  'icmpv6.opt.length',
  'icmpv6.opt.src_linkaddr',
  'icmpv6.opt.target_linkaddr',
  'icmpv6.opt.prefix.length',
  'icmpv6.opt.prefix.flag.l',
  'icmpv6.opt.prefix.flag.a',
  'icmpv6.opt.prefix.valid_lifetime',
  'icmpv6.opt.prefix.preferred_lifetime',
  'icmpv6.opt.prefix',
  'icmpv6.opt.mtu',
  'icmpv6.opt.rdnss.lifetime',
  'icmpv6.opt.rdnss',
];

const ours = (pkt: ExplainedPacket, name: string) =>
  pkt
    .flatMap((l) => l.fields)
    .filter((f) => f.name === name)
    .map((f) => (typeof f.value === 'boolean' ? (f.value ? '1' : '0') : String(f.value)));

/** Our checksum verdict in tshark's icmpv6.checksum.status terms: 1 good, 0 bad, 2 not verified. */
const checksumStatus = (pkt: ExplainedPacket) =>
  pkt
    .flatMap((l) => l.fields)
    .filter((f) => f.name === 'icmpv6.checksum' && !f.meaning.includes('not verified'))
    .map((f) => (f.meaning.endsWith('correct') ? '1' : '0'));

function writeCapture(file: string): void {
  const w = PcapngWriter.open(file, { localAddress: parseIpv4('192.0.2.1'), localPort: 8472 });
  for (const p of [...errors(), ...chains(), ...neighbourDiscovery(), vxlanOverIpv6()])
    w.record(CaptureSide.Tun, p, 0, p.length, CaptureDirection.Inbound);
  for (const d of groupPolicyDatagrams())
    w.record(CaptureSide.Wire, d, 0, d.length, CaptureDirection.Outbound, parseIpv4('192.0.2.2'), 8472);
  w.close();
}

if (canRunWith('weft explain vs tshark on IPv6, ICMPv6, ND and VXLAN-GBP', ['tshark'])) {
  test('every IPv6 packet matches tshark field by field', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'v6.pcapng');
      writeCapture(file);
      const mine = explainFile(file);
      const t = await tsharkJson(file, ['-d', 'udp.port==53,data']);
      assert.is(t.code, 0, t.stderr);
      assert.is(t.stderr, '', 'tshark reads the file without complaint');
      assert.is(t.layers.length, 15);
      const seen = new Set<string>();
      mine.forEach((pkt, i) => {
        for (const name of SAME) {
          const a = ours(pkt, name);
          if (a.length) seen.add(name);
          assert.equal(a, tsharkValues(t.layers[i], name), `packet ${i + 1}: ${name}`);
        }
        const theirs = tsharkValues(t.layers[i], 'icmpv6.checksum.status').filter((s) => s !== '2');
        assert.equal(checksumStatus(pkt), theirs, `packet ${i + 1}: ICMPv6 checksum verdict`);
        assert.equal(
          pkt.flatMap((l) => l.problems),
          [],
          `packet ${i + 1}: no problems`,
        );
      });
      for (const name of SAME) assert.ok(seen.has(name), `the packets exercised ${name}`);
      const layers = mine.map((p) => p.map((l) => l.name).join(' '));
      assert.is(layers[1], 'frame ipv6 icmpv6 ipv6 ipv6.hopopts ipv6.dstopts data', 'the quoted chain is shown');
      assert.is(layers[5], 'frame ipv6 ah icmpv6 data');
      assert.is(layers[6], 'frame ipv6 ipv6.fraghdr data', 'a later fragment: data, not UDP');
      assert.is(layers[11], 'frame ipv6 udp vxlan eth ipv6 ipv6.fraghdr icmpv6 data', 'VXLAN over the IPv6 underlay');
      const udpStatus = await tsharkJson(file, ['-d', 'udp.port==53,data', '-o', 'udp.check_checksum:TRUE']);
      assert.equal(tsharkValues(udpStatus.layers[11], 'udp.checksum.status'), ['1'], 'the outer UDP checksum');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
