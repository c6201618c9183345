// ICMPv6 errors (RFC 4443 sections 3.1, 3.2) on golden bytes, the checksum against a slow reference over a
// hand-built pseudo-header (RFC 8200 section 8.1), and every case where RFC 4443 section 2.4 e forbids an error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Icmpv6Type,
  Icmpv6UnreachableCode,
  IPV6_MIN_MTU,
  buildIcmpv6DestUnreachable,
  buildIcmpv6PacketTooBig,
  ipv6UpperLayerChecksum,
} from '../src/index.ts';
import { NODE, POD_A, POD_B, icmp6, udp6 } from './icmpv6-support.ts';

/** RFC 1071 word by word, the pseudo-header laid out in bytes: the reference the fast path must agree with. */
function slowChecksum(src: Buffer, dst: Buffer, nextHeader: number, msg: Uint8Array): number {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(msg.length, 32);
  pseudo[39] = nextHeader;
  const all = Buffer.concat([pseudo, msg, Buffer.alloc(msg.length % 2)]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += all.readUInt16BE(i);
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

const OFFENDING = udp6(POD_A, POD_B, Buffer.from('dns?'));

test('golden: destination unreachable (no route) about a 52-byte UDP packet', () => {
  assert.is(
    OFFENDING.toString('hex'),
    '60012345000c1140fd000010024400010000000000000005fd000010024400020000000000000007' + '9c400035000c8cfa646e733f', // UDP 40000 > 53, length 12, checksum 0x8cfa, "dns?"
  );
  const out = Buffer.alloc(200, 0xee);
  const n = buildIcmpv6DestUnreachable(OFFENDING, 0, OFFENDING.length, Icmpv6UnreachableCode.NoRoute, NODE, out, 3);
  assert.is(n, 40 + 8 + OFFENDING.length);
  assert.is(
    out.toString('hex', 3, 3 + n),
    [
      '60000000', // version 6, traffic class 0, flow label 0
      '003c', // payload length 60 = 8 + 52
      '3a', // next header 58: ICMPv6
      '40', // hop limit 64
      'fd000010024400010000000000000000', // source: the node, fd00:10:244:1::
      'fd000010024400010000000000000005', // destination: the offending packet's source
      '01', // type 1: destination unreachable
      '00', // code 0: no route to destination
      '6b63', // checksum
      '00000000', // unused
      OFFENDING.toString('hex'), // the whole invoking packet: it fits in 1280
    ].join(''),
  );
  assert.is(out[2], 0xee, 'nothing before outOffset');
  assert.is(out[3 + n], 0xee, 'nothing after');
  const msg = out.subarray(3 + 40, 3 + n);
  const sum = msg.readUInt16BE(2);
  msg.writeUInt16BE(0, 2);
  assert.is(slowChecksum(NODE, OFFENDING.subarray(8, 24), 58, msg), sum, 'checksum by the slow reference');
});

test('golden: packet too big quotes 1232 bytes of a 1500-byte packet, the MTU in the 32-bit field', () => {
  const big = udp6(POD_A, POD_B, Buffer.alloc(1500 - 48, 0x5a));
  const out = Buffer.alloc(1400);
  const n = buildIcmpv6PacketTooBig(big, 0, big.length, 1430, NODE, out, 0, { hopLimit: 255 });
  assert.is(n, IPV6_MIN_MTU);
  assert.is(out.toString('hex', 0, 8), '6000000004d83aff', 'payload length 1240, ICMPv6, hop limit 255');
  assert.is(out.toString('hex', 40, 48).replace(/^(....)..../, '$1xxxx'), '0200xxxx00000596', 'type 2, MTU 1430');
  assert.equal(out.subarray(48, n), big.subarray(0, 1232), 'the first 1232 bytes');
  assert.is(ipv6UpperLayerChecksum(out, 0, 40, n - 40), 0, 'checksum verifies');
});

test('the checksum agrees with the slow reference on random messages, odd lengths and over 64 KiB', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 1500 }), fc.nat(255), (msg, nh) => {
      const p = Buffer.concat([udp6(POD_B, POD_A, Buffer.alloc(0)).subarray(0, 40), msg]);
      assert.is(
        ipv6UpperLayerChecksum(p, 0, 40, msg.length, nh),
        slowChecksum(p.subarray(8, 24), p.subarray(24, 40), nh, msg),
      );
    }),
    { numRuns: 300 },
  );
  const jumbo = Buffer.alloc(40 + 70_000, 0xa7);
  udp6(POD_A, POD_B, Buffer.alloc(0)).copy(jumbo, 0, 0, 40);
  const ref = slowChecksum(jumbo.subarray(8, 24), jumbo.subarray(24, 40), 58, jumbo.subarray(40));
  assert.is(ipv6UpperLayerChecksum(jumbo, 0, 40, 70_000), ref, 'the 32-bit upper-layer length');
});

test('RFC 4443 section 2.4 e: which packets are answered', () => {
  const out = Buffer.alloc(1400);
  const du = (p: Buffer) => buildIcmpv6DestUnreachable(p, 0, p.length, Icmpv6UnreachableCode.NoRoute, NODE, out, 0);
  const ptb = (p: Buffer) => buildIcmpv6PacketTooBig(p, 0, p.length, 1280, NODE, out, 0);
  const echo = icmp6(POD_A, POD_B, Icmpv6Type.EchoRequest, 0, Buffer.from('00010001', 'hex'));
  assert.is(du(echo), 48 + echo.length, 'about an echo request: yes');
  assert.is(du(icmp6(POD_A, POD_B, Icmpv6Type.DestUnreachable, 0, Buffer.alloc(4))), 0, 'about an error (e.1)');
  assert.is(ptb(icmp6(POD_A, POD_B, Icmpv6Type.PacketTooBig, 0, Buffer.alloc(4))), 0, 'PTB about an error either');
  assert.is(du(icmp6(POD_A, POD_B, Icmpv6Type.Redirect, 0, Buffer.alloc(36))), 0, 'about a redirect (e.2)');
  const hbh = Buffer.from('3a00010400000000', 'hex'); // next header 58 after a hop-by-hop header
  const hidden = icmp6(
    POD_A,
    POD_B,
    Icmpv6Type.TimeExceeded,
    0,
    Buffer.alloc(4),
    Buffer.concat([Buffer.from([0]), hbh]),
  );
  assert.is(hidden[6], 0);
  assert.is(du(hidden), 0, 'an error behind extension headers');
  const later = (nh: number) =>
    icmp6(POD_A, POD_B, 128, 0, Buffer.alloc(4), Buffer.from([44, nh, 0, 0x01, 0x00, 0, 0, 0, 1]));
  assert.is(du(later(58)), 0, 'a later fragment of ICMPv6: its type cannot be read');
  assert.ok(du(later(17)) > 0, 'a later fragment of UDP: yes');
  const mcast = udp6(POD_A, 'ff02::1:ff00:7', Buffer.from('x'));
  assert.is(du(mcast), 0, 'to a multicast destination (e.3)');
  assert.is(ptb(mcast), 48 + mcast.length, 'but Packet Too Big may go (e.3 exception)');
  for (const src of ['::', '::1', 'ff02::1'])
    assert.is(du(udp6(src, POD_B, Buffer.from('x'))) + ptb(udp6(src, POD_B, Buffer.from('x'))), 0, `from ${src} (e.6)`);
  assert.ok(du(udp6('::2', POD_B, Buffer.from('x'))) > 0, 'from ::2, an ordinary address');
  const bad = Buffer.from(OFFENDING);
  bad[6] = 0; // hop-by-hop that runs past the end
  assert.is(du(bad), 0, 'a header chain that does not walk');
  assert.is(du(OFFENDING.subarray(0, 50)), 0, 'truncated packet');
});

test('room, caps and caller errors', () => {
  const big = udp6(POD_A, POD_B, Buffer.alloc(400));
  const out = Buffer.alloc(600);
  assert.is(buildIcmpv6DestUnreachable(big, 0, big.length, 0, NODE, out, 0, { maxLength: 200 }), 200, 'capped');
  assert.is(ipv6UpperLayerChecksum(out, 0, 40, 160), 0);
  assert.is(buildIcmpv6DestUnreachable(big, 0, big.length, 0, NODE, Buffer.alloc(400), 0), 0, 'no room');
  assert.is(buildIcmpv6DestUnreachable(big, 0, big.length, 0, NODE, out, 200), 0, 'no room after outOffset');
  assert.throws(() => buildIcmpv6PacketTooBig(big, 0, big.length, 1279, NODE, out, 0), RangeError);
  assert.throws(() => buildIcmpv6DestUnreachable(big, 0, big.length, 0, NODE.subarray(0, 15), out, 0), RangeError);
  const padded = Buffer.concat([Buffer.alloc(5), OFFENDING, Buffer.alloc(6)]);
  const n = buildIcmpv6DestUnreachable(padded, 5, padded.length - 5, 0, NODE, out, 0);
  assert.is(n, 48 + OFFENDING.length, 'quotes the packet, not the link padding after it');
  const fromSrc = Buffer.concat([Buffer.alloc(3), NODE]);
  assert.is(buildIcmpv6DestUnreachable(OFFENDING, 0, OFFENDING.length, 0, fromSrc, out, 0, {}, 3), n, 'srcOffset');
  assert.equal(out.subarray(8, 24), NODE);
});

test.run();
