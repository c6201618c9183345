// RIB tests: the decision process step by step (RFC 4271 §9.1.2.2), split horizon, route reflection
// (RFC 4456) and graceful-restart stale handling (RFC 4724 §4.2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Afi, LOCAL_SOURCE, Origin, type Prefix, type Route } from '../src/index.ts';
import { AsPathSegmentType, WellKnownCommunity, type RouteAttributes } from '../src/codec/attribute-types.ts';
import { decide, DecisionStep } from '../src/rib/decision.ts';
import { type RibPeer } from '../src/rib/export.ts';
import { ImportRejection, Rib } from '../src/rib/rib.ts';
import { emptyAttributes } from '../src/rib/route.ts';

const P: Prefix = { afi: Afi.Ipv4, length: 24, addr: '10.244.1.0' };
const seq = (...asns: number[]) => [{ type: AsPathSegmentType.AsSequence, asns }];

function peer(id: string, over: Partial<RibPeer> = {}): RibPeer {
  return { id, address: id, as: 64512, bgpId: id, ibgp: true, rrClient: false, localAddress: '192.0.2.1', ...over };
}

function route(src: RibPeer, attrs: Partial<RouteAttributes> = {}): Route {
  return {
    prefix: P,
    key: '10.244.1.0/24',
    attrs: { ...emptyAttributes(), origin: Origin.Igp, ...attrs },
    nextHop: src.address,
    source: src,
  };
}

// ---- decision process, one step at a time: each pair differs only in the criterion under test ----

const a = peer('192.0.2.10');
const b = peer('192.0.2.20');

const steps: [string, Route, Route, DecisionStep][] = [
  ['highest LOCAL_PREF', route(b, { localPref: 200 }), route(a, { localPref: 100 }), DecisionStep.HighestLocalPref],
  [
    'missing LOCAL_PREF counts as the default 100',
    route(b, { localPref: 101 }),
    route(a),
    DecisionStep.HighestLocalPref,
  ],
  [
    'shortest AS_PATH',
    route(b, { asPath: seq(65001) }),
    route(a, { asPath: seq(65001, 65002) }),
    DecisionStep.ShortestAsPath,
  ],
  [
    'an AS_SET counts as one',
    route(b, { asPath: [{ type: AsPathSegmentType.AsSet, asns: [1, 2, 3] }] }),
    route(a, { asPath: seq(65001, 65002) }),
    DecisionStep.ShortestAsPath,
  ],
  [
    'lowest ORIGIN',
    route(b, { origin: Origin.Igp }),
    route(a, { origin: Origin.Incomplete }),
    DecisionStep.LowestOrigin,
  ],
  [
    'lowest MED from the same neighbour AS',
    route(b, { asPath: seq(65001), med: 5 }),
    route(a, { asPath: seq(65001), med: 10 }),
    DecisionStep.LowestMed,
  ],
  ['eBGP over iBGP', route(peer('192.0.2.30', { as: 65001, ibgp: false })), route(a), DecisionStep.EbgpOverIbgp],
  [
    'lowest router id',
    route(peer('192.0.2.99', { bgpId: '1.1.1.1' })),
    route(peer('192.0.2.5', { bgpId: '2.2.2.2' })),
    DecisionStep.LowestRouterId,
  ],
  [
    'ORIGINATOR_ID stands in for the router id',
    route(b, { originatorId: '1.0.0.1', clusterList: ['9.9.9.9'] }),
    route(a, { originatorId: '1.0.0.2' }),
    DecisionStep.LowestRouterId,
  ],
  [
    'shortest CLUSTER_LIST',
    route(b, { originatorId: '1.0.0.1', clusterList: ['9.9.9.9'] }),
    route(a, { originatorId: '1.0.0.1', clusterList: ['9.9.9.9', '8.8.8.8'] }),
    DecisionStep.ShortestClusterList,
  ],
  [
    'lowest peer address',
    route(peer('192.0.2.7', { bgpId: '1.1.1.1' })),
    route(peer('192.0.2.200', { bgpId: '1.1.1.1' })),
    DecisionStep.LowestPeerAddress,
  ],
];

for (const [name, winner, loser, step] of steps) {
  test(`decision: ${name}`, () => {
    for (const order of [
      [winner, loser],
      [loser, winner],
    ]) {
      const d = decide(order);
      assert.is(d?.best, winner);
      assert.is(DecisionStep[d!.decidedBy], DecisionStep[step]);
    }
  });
}

test('decision: MED is not compared across neighbour ASes', () => {
  // Different neighbour ASes: MED 50 vs 10 is ignored, and the router id decides.
  const x = route(peer('192.0.2.1', { bgpId: '1.1.1.1' }), { asPath: seq(65001), med: 50 });
  const y = route(peer('192.0.2.2', { bgpId: '2.2.2.2' }), { asPath: seq(65002), med: 10 });
  assert.is(decide([y, x])?.best, x);
  assert.is(decide([y, x])?.decidedBy, DecisionStep.LowestRouterId);
});

test('decision: our own routes win', () => {
  const local = { ...route(a), source: { ...a, id: LOCAL_SOURCE } };
  assert.is(decide([route(b, { localPref: 500 }), local])?.decidedBy, DecisionStep.LocallyOriginated);
});

// ---- the Rib: import checks, split horizon, reflection, GR ----

function rib(over: { clusterId?: string } = {}): Rib {
  return new Rib({ localAs: 64512, routerId: '192.0.2.1', ...over });
}
const ann = (attrs: Partial<RouteAttributes> = {}, nextHop = '192.0.2.10') => ({
  prefix: P,
  attrs: { ...emptyAttributes(), origin: Origin.Igp, ...attrs },
  nextHop,
});

test('Loc-RIB follows the best route as peers announce and withdraw', () => {
  const r = rib();
  r.setPeer(a);
  r.setPeer(b);
  assert.is(r.receive(a.id, [ann({ localPref: 100 })], []).length, 1);
  const changes = r.receive(b.id, [ann({ localPref: 300 }, '192.0.2.20')], []);
  assert.is(changes[0]?.best?.source.id, b.id);
  assert.is(changes[0]?.previous?.source.id, a.id);
  assert.is(r.receive(b.id, [], [P])[0]?.best?.source.id, a.id);
  assert.is(r.receive(a.id, [], [P])[0]?.best, null);
  assert.is(r.best(P), undefined);
});

test('eBGP: a route with our AS in its path is rejected; LOCAL_PREF from outside is ignored', () => {
  const r = rib();
  const ext = peer('198.51.100.1', { as: 65001, ibgp: false });
  r.setPeer(ext);
  assert.equal(r.receive(ext.id, [ann({ asPath: seq(65001, 64512) })], []), []);
  assert.is(r.rejected.get(ImportRejection.AsPathLoop), 1);
  r.receive(ext.id, [ann({ asPath: seq(65001), localPref: 999 })], []);
  assert.is(r.best(P)?.attrs.localPref, undefined);
});

test('iBGP split horizon: a route from one internal peer is not sent to another', () => {
  const r = rib();
  const ext = peer('198.51.100.1', { as: 65001, ibgp: false, localAddress: '198.51.100.2' });
  for (const p of [a, b, ext]) r.setPeer(p);
  r.receive(a.id, [ann()], []);
  assert.equal(r.exportsFor(b.id).announce, []);
  assert.equal(r.exportsFor(a.id).announce, []); // not echoed either
  const out = r.exportsFor(ext.id).announce[0]!;
  assert.equal(out.attrs.asPath, seq(64512)); // our AS prepended
  assert.is(out.nextHop, '198.51.100.2'); // next hop self to eBGP
  assert.is(out.attrs.localPref, undefined);
});

test('our own routes go to every peer, once; withdrawals follow', () => {
  const r = rib();
  r.setPeer(a);
  r.originate(P, ann().attrs, '192.0.2.1');
  const first = r.exportsFor(a.id);
  assert.is(first.announce.length, 1);
  assert.is(first.announce[0]!.attrs.localPref, 100);
  assert.is(first.announce[0]!.nextHop, '192.0.2.1');
  assert.equal(r.exportsFor(a.id), { announce: [], withdraw: [] }); // Adj-RIB-Out already has it
  r.withdrawLocal(P);
  assert.equal(r.exportsFor(a.id).withdraw, [P]);
  assert.is(r.counts(a.id).sent, 0);
});

test('NO_ADVERTISE and NO_EXPORT communities are honoured', () => {
  const r = rib();
  const ext = peer('198.51.100.1', { as: 65001, ibgp: false });
  for (const p of [a, ext]) r.setPeer(p);
  r.originate(P, { ...ann().attrs, communities: [WellKnownCommunity.NoExport] }, '192.0.2.1');
  assert.is(r.exportsFor(a.id).announce.length, 1);
  assert.is(r.exportsFor(ext.id).announce.length, 0);
});

test('route reflection: client routes go to all, non-client routes to clients only, with RR attributes', () => {
  const r = rib({ clusterId: '10.0.0.1' });
  const client1 = peer('192.0.2.11', { rrClient: true });
  const client2 = peer('192.0.2.12', { rrClient: true });
  const nonClient = peer('192.0.2.13');
  const nonClient2 = peer('192.0.2.14');
  for (const p of [client1, client2, nonClient, nonClient2]) r.setPeer(p);
  r.receive(client1.id, [ann({}, '192.0.2.11')], []);
  const toClient = r.exportsFor(client2.id).announce[0]!;
  assert.is(toClient.attrs.originatorId, client1.bgpId);
  assert.equal(toClient.attrs.clusterList, ['10.0.0.1']);
  assert.is(toClient.nextHop, '192.0.2.11'); // next hop unchanged when reflecting
  assert.is(r.exportsFor(nonClient.id).announce.length, 1);
  assert.is(r.exportsFor(client1.id).announce.length, 0);

  const P2: Prefix = { afi: Afi.Ipv4, length: 24, addr: '10.244.2.0' };
  r.receive(nonClient.id, [{ ...ann(), prefix: P2 }], []);
  const keys = ['10.244.2.0/24'];
  assert.is(r.exportsFor(client1.id, keys).announce.length, 1);
  assert.is(r.exportsFor(nonClient2.id, keys).announce.length, 0); // non-client to non-client: no
});

test('route reflection loop detection: own router id as ORIGINATOR_ID, own cluster id in CLUSTER_LIST', () => {
  const r = rib({ clusterId: '10.0.0.1' });
  r.setPeer(a);
  r.receive(a.id, [ann({ originatorId: '192.0.2.1' })], []);
  r.receive(a.id, [ann({ originatorId: '192.0.2.50', clusterList: ['10.0.0.9', '10.0.0.1'] })], []);
  assert.is(r.best(P), undefined);
  assert.is(r.rejected.get(ImportRejection.OriginatorIsUs), 1);
  assert.is(r.rejected.get(ImportRejection.ClusterListLoop), 1);
});

test('graceful restart helper: stale routes stay, refreshed ones are kept, the rest purged at End-of-RIB', () => {
  const r = rib();
  r.setPeer(a);
  const P2: Prefix = { afi: Afi.Ipv4, length: 24, addr: '10.244.2.0' };
  r.receive(a.id, [ann(), { ...ann(), prefix: P2 }], []);
  const P6: Prefix = { afi: Afi.Ipv6, length: 48, addr: '2001:db8::' };
  r.receive(a.id, [{ ...ann(), prefix: P6 }], []);
  const dropped = r.markStale(a.id, [Afi.Ipv4]); // the peer's GR capability listed IPv4 only
  assert.equal(
    dropped.filter((c) => !c.best).map((c) => c.key),
    ['2001:db8::/48'],
  );
  assert.ok(
    dropped.filter((c) => c.best).every((c) => c.best!.stale),
    'kept routes re-reported as stale',
  );
  assert.is(r.counts(a.id).stale, 2);
  assert.is(r.best(P)?.stale, true); // still forwarding on them, flagged
  r.receive(a.id, [ann()], []); // the restarted peer re-announces P only
  assert.is(r.counts(a.id).stale, 1);
  const purged = r.purgeStale(a.id); // End-of-RIB
  assert.equal(
    purged.map((c) => [c.key, c.best]),
    [['10.244.2.0/24', null]],
  );
  assert.ok(r.best(P));
  assert.is(r.best(P)?.stale, undefined);
});

test('session reset without GR drops the peer routes', () => {
  const r = rib();
  r.setPeer(a);
  r.receive(a.id, [ann()], []);
  assert.is(r.resetPeer(a.id)[0]?.best, null);
  assert.is(r.counts(a.id).received, 0);
});

test.run();
