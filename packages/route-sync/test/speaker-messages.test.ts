// From RIB diffs to UPDATE messages and back: packing under the 4096-byte limit (RFC 4271 §4), MP_REACH for
// IPv6 (RFC 4760), End-of-RIB (RFC 4724 §2), and the OPEN fields the FSM reads (RFC 6793 4-octet AS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Afi, AttrType, CapabilityCode, MessageType } from '../src/index.ts';
import { MAX_MESSAGE_LENGTH } from '../src/codec/header.ts';
import { encodingLength } from '../src/codec/message.ts';
import { parsePrefix } from '../src/codec/prefix.ts';
import { Rib } from '../src/rib/rib.ts';
import { emptyAttributes } from '../src/rib/route.ts';
import { AS_TRANS } from '../src/types.ts';
import { buildOpen, buildUpdates, endOfRib, endOfRibFamily, openInfo, readUpdate } from '../src/speaker/messages.ts';

const CTX = { fourOctetAs: true };
const peer = {
  id: 'p',
  address: '192.0.2.2',
  as: 64512,
  bgpId: '192.0.2.2',
  ibgp: true,
  rrClient: false,
  localAddress: '192.0.2.1',
};

test('1,200 prefixes sharing attributes pack into 3 UPDATEs under 4096 bytes; withdrawals likewise', () => {
  const rib = new Rib({ localAs: 64512, routerId: '192.0.2.1' });
  rib.setPeer(peer);
  const attrs = { ...emptyAttributes(), origin: 0, communities: [0xfde80001] };
  for (let i = 0; i < 1200; i++) rib.originate(parsePrefix(`10.${i >> 8}.${i & 255}.0/24`), attrs, '192.0.2.1');
  const ups = buildUpdates(rib.exportsFor('p'));
  assert.is(ups.length, 3);
  for (const u of ups) assert.ok(encodingLength(u, CTX) <= MAX_MESSAGE_LENGTH);
  const back = ups.flatMap((u) => readUpdate(u, CTX).announced);
  assert.is(back.length, 1200);
  assert.is(back[7]!.nextHop, '192.0.2.1');
  assert.equal(back[7]!.attrs.communities, [0xfde80001]);
  for (let i = 0; i < 1200; i++) rib.withdrawLocal(parsePrefix(`10.${i >> 8}.${i & 255}.0/24`));
  const wd = buildUpdates(rib.exportsFor('p'));
  assert.is(wd.length, 2); // 700 + 500
  for (const u of wd) assert.ok(encodingLength(u, CTX) <= MAX_MESSAGE_LENGTH);
  assert.is(wd.flatMap((u) => readUpdate(u, CTX).withdrawn).length, 1200);
});

test('IPv6 routes travel in MP_REACH_NLRI / MP_UNREACH_NLRI', () => {
  const p = parsePrefix('2001:db8:1::/48');
  const [u] = buildUpdates({
    announce: [{ prefix: p, attrs: emptyAttributes(), nextHop: '2001:db8::1' }],
    withdraw: [],
  });
  assert.is(u!.nlri.length, 0);
  const mp = u!.attributes.find((a) => a.type === AttrType.MpReachNlri);
  assert.ok(mp && mp.type === AttrType.MpReachNlri && mp.afi === Afi.Ipv6);
  assert.equal(
    readUpdate(u!, CTX).announced.map((a) => [a.prefix, a.nextHop]),
    [[p, '2001:db8::1']],
  );
  const [w] = buildUpdates({ announce: [], withdraw: [p] });
  assert.equal(readUpdate(w!, CTX).withdrawn, [p]);
});

test('End-of-RIB: an empty UPDATE (IPv4) or an empty MP_UNREACH (IPv6), and nothing else', () => {
  assert.is(endOfRibFamily(endOfRib(Afi.Ipv4)), Afi.Ipv4);
  assert.is(endOfRibFamily(endOfRib(Afi.Ipv6)), Afi.Ipv6);
  const [w] = buildUpdates({ announce: [], withdraw: [parsePrefix('10.0.0.0/8')] });
  assert.is(endOfRibFamily(w!), null);
});

test('our OPEN carries AS_TRANS for a 4-octet AS, and openInfo reads the real AS back', () => {
  const open = buildOpen({
    localAs: 4200000001,
    routerId: '192.0.2.1',
    holdTime: 9,
    gracefulRestart: { restartTime: 120, restarting: false },
  });
  assert.is(open.type, MessageType.Open);
  assert.is(open.myAs, AS_TRANS);
  const info = openInfo(open);
  assert.is(info.as, 4200000001);
  assert.is(info.bgpId, 0xc0000201);
  assert.is(info.fourOctetAs, true);
  assert.equal(info.gracefulRestart, {
    restartTime: 120,
    restarting: false,
    families: [Afi.Ipv4, Afi.Ipv6],
    preserved: [Afi.Ipv4, Afi.Ipv6],
  });
  assert.ok(open.capabilities.some((c) => c.type === CapabilityCode.RouteRefresh));
});

test.run();
