// RFC 8950 (Extended Next Hop Encoding, obsoletes RFC 5549): IPv4 unicast routes with an IPv6 next hop, so an
// IPv6-only session carries IPv4 routes. The capability's bytes, an IPv4 route's MP_REACH_NLRI (AFI 1) with a
// 16-byte next hop, and two speakers on an IPv6 session: with both offering it the IPv4 route travels with the
// IPv6 next hop; with one not offering it nothing IPv4 travels, and such an UPDATE received anyway is ignored.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Afi,
  AttrType,
  BgpDecoder,
  BgpMessageError,
  CapabilityCode,
  encodeMessageToBuffer,
  MemoryNetwork,
  Speaker,
  type UpdateMessage,
} from '../src/index.ts';
import { decodeCapabilities, encodeCapability } from '../src/codec/capabilities.ts';
import {
  decodeExtendedNextHopValue,
  extendedNextHopCapability,
  offersIpv4OverIpv6,
} from '../src/codec/extended-nexthop.ts';
import { buildOpen, buildUpdates } from '../src/speaker/messages.ts';
import { filterUpdateFamilies } from '../src/speaker/families.ts';
import { parsePrefix } from '../src/codec/prefix.ts';
import { Rib } from '../src/rib/rib.ts';
import { emptyAttributes } from '../src/rib/route.ts';
import type { Capability } from '../src/types.ts';
import { hex, MARKER } from './fixtures/bgpc-hex.ts';
import { waitFor } from './speaker-helpers.ts';

const A6 = '2001:db8::a';
const B6 = '2001:db8::b';

test('capability 5: <IPv4, unicast, IPv6> in 6 octets; a length not a multiple of 6 is refused', () => {
  const buf = new Uint8Array(8);
  assert.is(encodeCapability(extendedNextHopCapability(), buf, 0), 8);
  assert.is(Buffer.from(buf).toString('hex'), '0506000100010002'); // code 5, length 6, AFI 1, SAFI 1, NH AFI 2
  const caps: Capability[] = [];
  decodeCapabilities(buf, 0, 8, caps);
  const ours = buildOpen({ localAs: 64512, routerId: '192.0.2.1', holdTime: 90, extendedNextHop: true });
  assert.ok(offersIpv4OverIpv6(ours));
  assert.ok(offersIpv4OverIpv6({ ...ours, capabilities: caps }), 'decoded again, it still says so');
  assert.not.ok(offersIpv4OverIpv6(buildOpen({ localAs: 64512, routerId: '192.0.2.1', holdTime: 90 })));
  const v6over4 = { type: CapabilityCode.Unrecognized, code: 5, value: hex('0002 0001 0001') } as const;
  assert.not.ok(offersIpv4OverIpv6({ ...ours, capabilities: [v6over4] }), 'IPv6 over IPv4 is another triple');
  assert.throws(
    () => decodeExtendedNextHopValue(hex('0001 0001 00'), 0, 5),
    (e: unknown) => e instanceof BgpMessageError,
  );
});

test('golden bytes: an IPv4 route to a peer with RFC 8950 goes in MP_REACH_NLRI of AFI 1 with our IPv6 next hop', () => {
  const rib = new Rib({ localAs: 64512, routerId: '192.0.2.1' });
  const peer = { id: B6, address: B6, as: 64512, bgpId: '192.0.2.2', ibgp: true, rrClient: false, localAddress: A6 };
  rib.setPeer({ ...peer, families: [Afi.Ipv4, Afi.Ipv6], extendedNextHop: true });
  rib.originate(parsePrefix('10.244.7.0/24'), { ...emptyAttributes(), origin: 0 }, '');
  const [u] = buildUpdates(rib.exportsFor(B6));
  const bytes = encodeMessageToBuffer(u!, { fourOctetAs: true });
  const want = hex(
    MARKER,
    '0041',
    '02', // length 65, UPDATE
    '0000', // no withdrawn routes
    '002a', // path attributes: 42 bytes
    '80 0e 19', // MP_REACH_NLRI, optional, 25 bytes
    '0001 01', //   AFI 1 (IPv4), SAFI 1
    '10', //   next hop length 16: an IPv6 global address (RFC 8950 §3)
    '20010db800000000000000000000000a', //   2001:db8::a
    '00', //   reserved
    '18 0af407', //   10.244.7.0/24
    '40 01 01 00', // ORIGIN IGP
    '40 02 00', // AS_PATH empty (iBGP)
    '40 05 04 00000064', // LOCAL_PREF 100
  );
  assert.is(Buffer.from(bytes).toString('hex'), Buffer.from(want).toString('hex'));
  const [back] = new BgpDecoder({ context: { fourOctetAs: true } }).write(bytes) as UpdateMessage[];
  const reach = back!.attributes.find((a) => a.type === AttrType.MpReachNlri);
  assert.ok(reach?.type === AttrType.MpReachNlri && reach.afi === Afi.Ipv4 && reach.nextHop === A6);
  // Without the capability on the session, the IPv4 route has no next hop it may carry: not exported.
  rib.setPeer({ ...peer, id: 'plain', families: [Afi.Ipv4, Afi.Ipv6] });
  assert.equal(rib.exportsFor('plain').announce, []);
  // And received on such a session, it is ignored (counted), not taken.
  const r = filterUpdateFamilies(back!, [Afi.Ipv4, Afi.Ipv6], false);
  assert.equal([r.update, r.ignored], [null, 1]);
  assert.is(filterUpdateFamilies(back!, [Afi.Ipv4], true).update, back);
});

async function pair(aOffers: boolean, bOffers: boolean) {
  const net = new MemoryNetwork();
  const a = new Speaker({ routerId: '192.0.2.1', transport: net.transport(A6), jitter: () => 0 });
  const b = new Speaker({ routerId: '192.0.2.2', transport: net.transport(B6), jitter: () => 0 });
  a.addPeer({ address: B6, as: 64512, extendedNextHop: aOffers });
  b.addPeer({ address: A6, as: 64512, passive: true, extendedNextHop: bOffers });
  a.advertise('10.244.7.0/24');
  a.advertise('2001:db8:7::/64');
  await b.start();
  await a.start();
  await waitFor('Established', () => a.status()[0]!.state === 'Established' && b.status()[0]!.state === 'Established');
  await waitFor('the IPv6 route', () => [...b.routes()].some((r) => r.key === '2001:db8:7::/64'));
  return { a, b };
}

test('two speakers on an IPv6 session, both offering RFC 8950: the IPv4 route arrives via the IPv6 next hop', async () => {
  const { a, b } = await pair(true, true);
  try {
    await waitFor('the IPv4 route', () => [...b.routes()].some((r) => r.key === '10.244.7.0/24'));
    const v4 = [...b.routes()].find((r) => r.key === '10.244.7.0/24')!;
    assert.is(v4.nextHop, A6);
    assert.equal(b.status()[0]!.families, ['ipv4', 'ipv6']);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('only one side offering RFC 8950: no IPv4 route on the IPv6 session (nothing without a next hop of its own)', async () => {
  const { a, b } = await pair(true, false);
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.not.ok([...b.routes()].some((r) => r.key === '10.244.7.0/24'));
    assert.is(b.status()[0]!.state, 'Established');
    assert.is(a.status()[0]!.prefixesIgnored, 0);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
