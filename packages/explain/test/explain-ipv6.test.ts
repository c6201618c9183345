// Hostile and malformed IPv6 through the explainer: each problem is reported on the field it is about, with the
// verdict of encap's chain walker where it has one; and mutations of the IPv6 packets never make it throw or
// report a field outside the input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Icmpv6Type, ipv6UpperLayerChecksum } from '@weft/encap';
import { Explainer, type ExplainedPacket } from '../src/index.ts';
import { icmp6, udp6 } from '../../encap/test/icmpv6-support.ts';
import { POD_A, POD_B, chains, errors, groupPolicyDatagrams, neighbourDiscovery } from './ipv6-packets.ts';

const explain = (b: Uint8Array, start: 'ip' | 'vxlan' = 'ip') => new Explainer({ start }).explain(b);
const problems = (pkt: ExplainedPacket) => pkt.flatMap((l) => l.problems).map((p) => [p.field, p.verdict ?? '-']);
const names = (pkt: ExplainedPacket) => pkt.map((l) => l.name);

test('a truncated extension header: the chain verdict, the rest shown as data', () => {
  const p = udp6(POD_A, POD_B, Buffer.alloc(0), Buffer.from('11050000000000000000', 'hex'), 0); // claims 48 bytes
  const pkt = explain(p);
  assert.equal(problems(pkt), [['ipv6.nxt', 'truncated_extension_header']]);
  assert.equal(names(pkt), ['frame', 'ipv6', 'data']);
});

test('hop-by-hop after destination options, and a chain of nine headers', () => {
  const late = udp6(POD_A, POD_B, Buffer.from('x'), Buffer.from('0000010400000000' + '1100010400000000', 'hex'), 60);
  assert.equal(problems(explain(late)), [['ipv6.nxt', 'misplaced_hop_by_hop']]);
  const nine = udp6(POD_A, POD_B, Buffer.from('x'), Buffer.from('3c00010400000000'.repeat(9), 'hex'), 60);
  assert.equal(problems(explain(nine)), [['ipv6.nxt', 'too_many_extension_headers']]);
});

test('neighbour discovery: hop limit other than 255, an option of length 0, a short message, a bad checksum', () => {
  const [ns] = neighbourDiscovery(64);
  assert.equal(problems(explain(ns!)), [['ipv6.hlim', '-']]);
  const zero = Buffer.from(neighbourDiscovery()[0]!);
  zero[40 + 24 + 1] = 0; // the source link-layer option's length
  zero.writeUInt16BE(0, 42);
  zero.writeUInt16BE(ipv6UpperLayerChecksum(zero, 0, 40, zero.length - 40), 42);
  const z = explain(zero);
  assert.equal(problems(z), [['icmpv6.opt.length', '-']]);
  assert.match(z.flatMap((l) => l.problems)[0]!.action, /silently discards/);
  const short = icmp6('fe80::5', 'ff02::1:ff00:7', Icmpv6Type.NeighborSolicitation, 0, Buffer.alloc(12));
  short[7] = 255;
  assert.match(explain(short).flatMap((l) => l.problems)[0]!.message, /needs 24 bytes, 16 present/);
  const bad = Buffer.from(neighbourDiscovery()[1]!);
  bad[50] ^= 0x80;
  assert.equal(problems(explain(bad)), [['icmpv6.checksum', '-']]);
});

test('VXLAN group policy with the I flag clear: the fields, and the bad_flags drop', () => {
  const d = Buffer.from(groupPolicyDatagrams()[1]!);
  d[0] = 0x80;
  const pkt = explain(d, 'vxlan');
  const f = (n: string) => pkt.flatMap((l) => l.fields).find((x) => x.name === n)?.value;
  assert.equal([f('vxlan.flag_g'), f('vxlan.flag_d'), f('vxlan.flag_a'), f('vxlan.gbp')], [true, false, true, 42]);
  assert.equal(problems(pkt)[0], ['vxlan.flags', 'bad_flags']);
});

test('mutated IPv6 packets: never a throw, every field inside the input', () => {
  const seeds = [...errors(), ...chains(), ...neighbourDiscovery(), ...groupPolicyDatagrams()];
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.array(fc.tuple(fc.nat(1400), fc.nat(255)), { maxLength: 6 }),
      fc.nat(1400),
      (i, flips, cut) => {
        const b = Buffer.from(seeds[i]!);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        const bytes = b.subarray(0, Math.min(b.length, 20 + cut));
        const pkt = explain(bytes, i >= seeds.length - 3 ? 'vxlan' : 'ip');
        for (const fld of pkt.flatMap((l) => l.fields))
          assert.ok(fld.offset + fld.length <= bytes.length, `${fld.name} inside the input`);
      },
    ),
    { numRuns: 1500 },
  );
});

test.run();
