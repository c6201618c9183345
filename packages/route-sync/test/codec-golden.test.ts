// Golden bytes: BIRD wire captures and hand-built messages decode to the expected values and re-encode exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AttrType, encodeMessageToBuffer, findRouterMac, MessageType, type UpdateMessage } from '../src/index.ts';
import { decodeMessage } from '../src/codec/message.ts';
import { findAttribute, resolveAttributes, updateRoutes } from '../src/codec/resolve.ts';
import { BIRD_CONTEXT, BIRD_GOLDEN } from './fixtures/bgpc-bird.ts';
import { HAND_GOLDEN } from './fixtures/bgpc-golden.ts';
import { roundTrip } from './fixtures/bgpc-roundtrip.ts';

for (const g of [...BIRD_GOLDEN, ...HAND_GOLDEN]) {
  test(`golden: ${g.name}`, () => {
    const r = decodeMessage(g.bytes, 0, g.ctx);
    assert.ok(r, 'decodes');
    assert.is(r!.length, g.bytes.length);
    assert.equal(r!.message, g.message);
    assert.ok(encodeMessageToBuffer(r!.message, g.ctx).equals(g.bytes), 're-encodes byte for byte');
    assert.ok(encodeMessageToBuffer(g.message, g.ctx).equals(g.bytes), 'the expected value encodes to the bytes');
    roundTrip(g.message, g.ctx);
  });
}

test('golden: every message type is covered', () => {
  const types = new Set([...BIRD_GOLDEN, ...HAND_GOLDEN].map((g) => g.message.type));
  assert.equal([...types].sort(), [1, 2, 3, 4, 5]);
});

test('golden: BIRD IPv4 UPDATE resolves to routes and attributes', () => {
  const msg = BIRD_GOLDEN.find((g) => g.name.includes('IPv4 routes'))!.message as UpdateMessage;
  const routes = updateRoutes(msg);
  assert.equal(routes.announced[0]!.nextHop, '192.0.2.1');
  assert.equal(
    routes.announced[0]!.prefixes.map((p) => `${p.addr}/${p.length}`),
    ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24', '198.51.100.0/25'],
  );
  const attrs = resolveAttributes(msg.attributes, BIRD_CONTEXT);
  assert.is(attrs.med, 50);
  assert.is(attrs.localPref, 100);
  assert.equal(attrs.communities, [((64512 << 16) | 100) >>> 0, 0xffffff01]);
  assert.equal(attrs.largeCommunities, [{ globalAdmin: 64512, localData1: 1, localData2: 2 }]);
});

test('golden: 2-octet session UPDATE merges AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.3)', () => {
  const msg = HAND_GOLDEN[1]!.message as UpdateMessage;
  const attrs = resolveAttributes(msg.attributes, { fourOctetAs: false });
  assert.equal(attrs.asPath, [{ type: 2, asns: [65001, 4200000001] }]);
  assert.equal(attrs.aggregator, { asn: 4200000001, addr: '192.0.2.9' });
  assert.ok(attrs.atomicAggregate);
  // The same attributes on a 4-octet session: AS4_* must be ignored.
  assert.equal(resolveAttributes(msg.attributes, { fourOctetAs: true }).asPath, [{ type: 2, asns: [65001, 23456] }]);
});

test('golden: route reflector UPDATE: Router MAC, 16-byte next hop, unknown attribute passed on with Partial', () => {
  const msg = HAND_GOLDEN[2]!.message as UpdateMessage;
  const ext = findAttribute(msg.attributes, AttrType.ExtendedCommunities)!;
  assert.is(findRouterMac(ext.communities), '02:42:ac:11:00:02');
  const routes = updateRoutes(msg);
  assert.equal(routes.announced, [
    { prefixes: [{ afi: 2, length: 64, addr: '2001:db8:a::' }], nextHop: '2001:db8::a' },
  ]);
  const attrs = resolveAttributes(msg.attributes, { fourOctetAs: true });
  assert.equal(attrs.clusterList, ['192.0.2.254', '198.51.100.1']);
  assert.is(attrs.unrecognized.length, 1);
  assert.is(attrs.unrecognized[0]!.flags & 0x20, 0x20);
});

test('golden: End-of-RIB markers are recognisable', () => {
  const eor = BIRD_GOLDEN.filter((g) => g.name.includes('End-of-RIB') && g.message.type === MessageType.Update);
  assert.is(eor.length, 2);
  for (const g of eor) {
    const r = updateRoutes(g.message as UpdateMessage);
    assert.equal(r, { announced: [], withdrawn: [] });
  }
});

test.run();
