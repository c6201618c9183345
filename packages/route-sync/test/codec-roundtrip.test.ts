// Random well-formed messages of every type through the round-trip harness (offset 0 and a random offset), plus the
// address/prefix text helpers and the AS4 helpers the speaker uses when sending to a 2-octet peer.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AttrType,
  CapabilityCode,
  MessageType,
  encodeMessageToBuffer,
  routerMacCommunity,
  findRouterMac,
  type Message,
  type PathAttribute,
  type Prefix,
  type UpdateMessage,
} from '../src/index.ts';
import { addAs4Attributes } from '../src/codec/aspath.ts';
import { decodeMessage } from '../src/codec/message.ts';
import { openAsn } from '../src/codec/open.ts';
import { parsePrefix } from '../src/codec/prefix.ts';
import { findAttribute, resolveAttributes } from '../src/codec/resolve.ts';
import { AS_TRANS, type Capability } from '../src/types.ts';
import { roundTrip } from './fixtures/bgpc-roundtrip.ts';

const RUNS = 2_000;
/** fc.record without null-prototype objects (the decoder returns plain objects, and deep equality checks that). */
const rec = <T extends object>(m: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(m, { noNullPrototype: true }) as fc.Arbitrary<T>;
const u32 = fc.nat({ max: 0xffffffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => {
  const bytes = Buffer.alloc(16);
  w.forEach((x, i) => bytes.writeUInt16BE(x, 2 * i));
  return parsePrefix(`${w.map((x) => x.toString(16)).join(':')}/128`).addr;
});
const v4prefix = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => parsePrefix(`${a}/${l}`));
const v6prefix = fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, l]) => parsePrefix(`${a}/${l}`));
const segment = rec({ type: fc.constantFrom(1, 2, 3, 4), asns: fc.array(u32, { minLength: 1, maxLength: 5 }) });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => new Uint8Array(b));

const attribute: fc.Arbitrary<PathAttribute> = fc.oneof(
  rec({ type: fc.constant(AttrType.Origin), origin: fc.constantFrom(0, 1, 2) }),
  rec({ type: fc.constant(AttrType.AsPath), segments: fc.array(segment, { maxLength: 3 }) }),
  rec({ type: fc.constant(AttrType.NextHop), nextHop: ipv4 }),
  rec({ type: fc.constant(AttrType.MultiExitDisc), med: u32 }),
  rec({ type: fc.constant(AttrType.LocalPref), localPref: u32 }),
  rec({ type: fc.constant(AttrType.AtomicAggregate) }),
  rec({ type: fc.constant(AttrType.Aggregator), asn: u32, addr: ipv4 }),
  rec({ type: fc.constant(AttrType.Communities), communities: fc.array(u32, { minLength: 1, maxLength: 4 }) }),
  rec({ type: fc.constant(AttrType.OriginatorId), originatorId: ipv4 }),
  rec({ type: fc.constant(AttrType.ClusterList), clusterIds: fc.array(ipv4, { minLength: 1, maxLength: 3 }) }),
  rec({
    type: fc.constant(AttrType.MpReachNlri),
    afi: fc.constant(2),
    safi: fc.constant(1),
    nextHop: ipv6,
    nlri: fc.array(v6prefix, { maxLength: 5 }),
  }),
  rec({
    type: fc.constant(AttrType.MpUnreachNlri),
    afi: fc.constant(2),
    safi: fc.constant(1),
    withdrawn: fc.array(v6prefix, { maxLength: 5 }),
  }),
  rec({
    type: fc.constant(AttrType.ExtendedCommunities),
    communities: fc.array(
      rec({
        type: fc.nat(255),
        subtype: fc.nat(255),
        value: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => new Uint8Array(b)),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  rec({ type: fc.constant(AttrType.As4Path), segments: fc.array(segment, { maxLength: 2 }) }),
  rec({ type: fc.constant(AttrType.As4Aggregator), asn: u32, addr: ipv4 }),
  rec({
    type: fc.constant(AttrType.LargeCommunity),
    communities: fc.array(rec({ globalAdmin: u32, localData1: u32, localData2: u32 }), { minLength: 1, maxLength: 3 }),
  }),
  rec({
    type: fc.constant(AttrType.Unrecognized),
    code: fc.constantFrom(20, 99, 200),
    flags: fc.constantFrom(0x80, 0xc0, 0xe0, 0xd0),
    value: bytes(300),
  }),
) as fc.Arbitrary<PathAttribute>;

/** One of each attribute type at most (repeats are an error on receive), in random order. */
const update: fc.Arbitrary<UpdateMessage> = fc
  .record({
    withdrawn: fc.array(v4prefix, { maxLength: 8 }),
    attributes: fc.array(attribute, { maxLength: 8 }),
    nlri: fc.array(v4prefix, { maxLength: 8 }),
  })
  .map(({ withdrawn, attributes, nlri }) => {
    const seen = new Set<number>();
    const unique = attributes.filter((a) => {
      const code = a.type === AttrType.Unrecognized ? a.code : a.type;
      return !seen.has(code) && seen.add(code);
    });
    return { type: MessageType.Update, withdrawn, attributes: unique, nlri };
  });

const capability: fc.Arbitrary<Capability> = fc.oneof(
  rec({
    type: fc.constant(CapabilityCode.Multiprotocol),
    afi: fc.constantFrom(1, 2, 25),
    safi: fc.constantFrom(1, 2, 70),
  }),
  rec({ type: fc.constant(CapabilityCode.RouteRefresh) }),
  rec({ type: fc.constant(CapabilityCode.FourOctetAs), asn: u32 }),
  rec({
    type: fc.constant(CapabilityCode.GracefulRestart),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.nat(4095),
    families: fc.array(rec({ afi: fc.constantFrom(1, 2), safi: fc.constant(1), forwardingPreserved: fc.boolean() }), {
      maxLength: 3,
    }),
  }),
  rec({
    type: fc.constant(CapabilityCode.Unrecognized),
    code: fc.constantFrom(6, 69, 70, 71, 73, 128),
    value: bytes(12),
  }),
) as fc.Arbitrary<Capability>;

const message: fc.Arbitrary<Message> = fc.oneof(
  rec({
    type: fc.constant(MessageType.Open),
    version: fc.constant(4),
    myAs: fc.nat(0xffff),
    holdTime: fc.constantFrom(0, 3, 90, 65535),
    bgpId: ipv4.filter((a) => a !== '0.0.0.0'),
    capabilities: fc.array(capability, { maxLength: 8 }),
  }),
  update,
  rec({
    type: fc.constant(MessageType.Notification),
    code: fc.integer({ min: 1, max: 7 }),
    subcode: fc.nat(255),
    data: bytes(40),
  }),
  fc.constant({ type: MessageType.Keepalive }),
  rec({
    type: fc.constant(MessageType.RouteRefresh),
    afi: fc.constantFrom(1, 2),
    safi: fc.constant(1),
    subtype: fc.constantFrom(0, 1, 2),
  }),
) as fc.Arbitrary<Message>;

test('round trip: random messages of every type, both AS widths, at offset 0 and at a random offset', () => {
  fc.assert(
    fc.property(message, fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), (msg, four, r) => {
      const ctx = { fourOctetAs: four, extendedMessage: true };
      const { decoded } = roundTrip(msg, ctx, () => r);
      if (msg.type === MessageType.Update && four) {
        // With 4-octet ASNs nothing is lost: the decoded value is the input, except for the flags it now carries.
        const d = decoded as UpdateMessage;
        const noFlags = (as: PathAttribute[]) =>
          as.map((a) => (a.type === AttrType.Unrecognized ? a : { ...a, flags: undefined }));
        assert.equal([d.withdrawn, d.nlri, noFlags(d.attributes)], [msg.withdrawn, msg.nlri, noFlags(msg.attributes)]);
      }
    }),
    { numRuns: RUNS },
  );
});

test('prefix text: canonical form, host bits cleared, RFC 5952 compression', () => {
  assert.equal(parsePrefix('10.244.1.7/24'), { afi: 1, length: 24, addr: '10.244.1.0' });
  assert.equal(parsePrefix('2001:0db8:0:0:1:0:0:1/128').addr, '2001:db8::1:0:0:1');
  assert.equal(parsePrefix('2001:db8::ffff/64').addr, '2001:db8::');
  assert.equal(parsePrefix('::/0').addr, '::');
  assert.equal(parsePrefix('::ffff:192.0.2.1/128').addr, '::ffff:c000:201');
  assert.equal(parsePrefix('1:0:1:0:1:0:1:0/128').addr, '1:0:1:0:1:0:1:0');
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '1::2::3/64', '10.0.0.256/32', 'x/1'])
    assert.throws(() => parsePrefix(bad), TypeError);
});

test('encode: an UPDATE that does not fit 4096 bytes is refused unless extended messages were negotiated', () => {
  const nlri: Prefix[] = Array.from({ length: 1100 }, (_, i) => parsePrefix(`10.${i >> 8}.${i & 255}.0/24`));
  const msg: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: [], nlri };
  assert.throws(() => encodeMessageToBuffer(msg, { fourOctetAs: true }), RangeError);
  assert.is(encodeMessageToBuffer(msg, { fourOctetAs: true, extendedMessage: true }).length, 19 + 4 + 1100 * 4);
});

test('AS4 on send: a 2-octet peer gets AS_TRANS plus AS4_PATH/AS4_AGGREGATOR, and merging restores the path', () => {
  const attrs: PathAttribute[] = [
    { type: AttrType.Origin, origin: 0 },
    { type: AttrType.AsPath, segments: [{ type: 2, asns: [64512, 4200000001, 65001] }] },
    { type: AttrType.NextHop, nextHop: '192.0.2.1' },
    { type: AttrType.Aggregator, asn: 4200000001, addr: '192.0.2.1' },
  ];
  const withAs4 = addAs4Attributes(attrs);
  assert.equal(
    withAs4.map((a) => a.type),
    [1, 2, 3, 7, 17, 18],
  );
  const ctx = { fourOctetAs: false };
  const wire = encodeMessageToBuffer(
    { type: MessageType.Update, withdrawn: [], attributes: withAs4, nlri: [parsePrefix('10.244.1.0/24')] },
    ctx,
  );
  const got = decodeMessage(wire, 0, ctx)!.message as UpdateMessage;
  assert.equal(findAttribute(got.attributes, AttrType.AsPath)!.segments, [{ type: 2, asns: [64512, AS_TRANS, 65001] }]);
  const resolved = resolveAttributes(got.attributes, ctx);
  assert.equal(resolved.asPath, [{ type: 2, asns: [64512, 4200000001, 65001] }]);
  assert.equal(resolved.aggregator, { asn: 4200000001, addr: '192.0.2.1' });
  assert.equal(
    addAs4Attributes([{ type: AttrType.AsPath, segments: [{ type: 2, asns: [65001] }] }]).length,
    1,
    'nothing added when all ASNs fit',
  );
});

test('OPEN: a 4-octet AS in myAs goes on the wire as AS_TRANS; openAsn reads the real one back', () => {
  const wire = encodeMessageToBuffer({
    type: MessageType.Open,
    version: 4,
    myAs: 4200000001,
    holdTime: 90,
    bgpId: '192.0.2.1',
    capabilities: [{ type: CapabilityCode.FourOctetAs, asn: 4200000001 }],
  });
  assert.is(wire.readUInt16BE(20), AS_TRANS);
  const open = decodeMessage(wire, 0)!.message;
  assert.ok(open.type === MessageType.Open);
  assert.is(openAsn(open), 4200000001);
});

test('Router MAC extended community (RFC 9135): build, find, reject junk', () => {
  const c = routerMacCommunity('02:42:AC:11:00:02');
  assert.equal([c.type, c.subtype, [...c.value]], [0x06, 0x03, [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]]);
  assert.is(findRouterMac([{ type: 0, subtype: 2, value: new Uint8Array(6) }, c]), '02:42:ac:11:00:02');
  assert.is(findRouterMac([]), undefined);
  assert.throws(() => routerMacCommunity('02:42:ac:11:00'), TypeError);
});

test.run();
