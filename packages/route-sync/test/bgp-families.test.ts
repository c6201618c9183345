// Only negotiated families, ever (RFC 4760 §8): a weft speaker against a scripted peer on the in-memory
// transport. The peer's OPEN decides what it may hear: End-of-RIB (RFC 4724 §2), UPDATEs and ROUTE-REFRESH
// (RFC 2918) of other families must never reach it, and what it sends of other families is ignored without
// costing the session. Plus the bytes of an IPv6 route on an IPv4 session (RFC 2545 32-byte next hop).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Afi,
  AttrType,
  CapabilityCode,
  encodeMessageToBuffer,
  MemoryNetwork,
  MessageType,
  Speaker,
  type Message,
  type UpdateMessage,
} from '../src/index.ts';
import type { Connection } from '../src/speaker/connection.ts';
import { advertisedFamilies, negotiateFamilies } from '../src/speaker/families.ts';
import { buildOpen, buildUpdates } from '../src/speaker/messages.ts';
import { parsePrefix } from '../src/codec/prefix.ts';
import { Rib } from '../src/rib/rib.ts';
import { emptyAttributes } from '../src/rib/route.ts';
import { Safi, type Capability, type OpenMessage } from '../src/types.ts';
import { hex, MARKER } from './fixtures/bgpc-hex.ts';
import { waitFor } from './speaker-helpers.ts';

const WEFT = '192.0.2.1';
const PEER = '192.0.2.2';
const mp = (afi: Afi): Capability => ({ type: CapabilityCode.Multiprotocol, afi, safi: Safi.Unicast });
const RR: Capability = { type: CapabilityCode.RouteRefresh };
const open = (capabilities: Capability[]): OpenMessage => ({
  type: MessageType.Open,
  version: 4,
  myAs: 64512,
  holdTime: 90,
  bgpId: PEER,
  capabilities,
});

/** A scripted neighbour: sends `caps` in its OPEN, answers with KEEPALIVE, records every message weft sends. */
class ScriptedPeer {
  readonly got: Message[] = [];
  conn!: Connection;
  constructor(private readonly net: MemoryNetwork) {}
  async connect(caps: Capability[]): Promise<void> {
    this.conn = await this.net.transport(PEER).connect(WEFT, 179);
    this.conn.attach({
      message: (m) => {
        this.got.push(m);
        if (m.type === MessageType.Open) this.conn.send({ type: MessageType.Keepalive });
      },
      error: () => {},
      closed: () => {},
    });
    this.conn.send(open(caps));
  }
  updates(): UpdateMessage[] {
    return this.got.filter((m): m is UpdateMessage => m.type === MessageType.Update);
  }
  /** Every AFI any UPDATE weft sent touches: classic fields and empty UPDATE count as IPv4, MP attributes by their AFI. */
  afisSeen(): Set<number> {
    const s = new Set<number>();
    for (const u of this.updates()) {
      const mpAttrs = u.attributes.filter((a) => a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri);
      for (const a of mpAttrs) s.add(a.afi);
      if (mpAttrs.length === 0 || u.nlri.length || u.withdrawn.length) s.add(Afi.Ipv4);
    }
    return s;
  }
}

async function session(caps: Capability[]): Promise<{ weft: Speaker; peer: ScriptedPeer }> {
  const net = new MemoryNetwork();
  const weft = new Speaker({ routerId: WEFT, transport: net.transport(WEFT), jitter: () => 0 });
  weft.addPeer({ address: PEER, as: 64512, passive: true, nextHops: { ipv6: '2001:db8::1' } });
  weft.advertise('10.244.1.0/24', { nextHop: WEFT });
  weft.advertise('2001:db8:1::/64');
  await weft.start();
  const peer = new ScriptedPeer(net);
  await peer.connect(caps);
  await waitFor('Established', () => weft.status()[0]!.state === 'Established');
  await waitFor('End-of-RIB', () => peer.updates().some((u) => u.attributes.length === 0 && u.nlri.length === 0));
  await new Promise((r) => setTimeout(r, 20)); // anything weft would send after it has had its turn
  return { weft, peer };
}

test('negotiation: intersection of both OPENs; no multiprotocol capability at all means IPv4 unicast only', () => {
  assert.equal(advertisedFamilies(open([])), [Afi.Ipv4]);
  assert.equal(advertisedFamilies(open([mp(Afi.Ipv6)])), [Afi.Ipv6]);
  assert.equal(advertisedFamilies(open([{ type: CapabilityCode.Multiprotocol, afi: Afi.Ipv6, safi: 2 }])), []);
  const ours = buildOpen({ localAs: 64512, routerId: WEFT, holdTime: 90 });
  assert.equal(negotiateFamilies(ours, open([mp(Afi.Ipv4)])), [Afi.Ipv4]);
  assert.equal(negotiateFamilies(ours, open([mp(Afi.Ipv6), mp(Afi.Ipv4)])), [Afi.Ipv4, Afi.Ipv6]);
  const v6only = buildOpen({
    localAs: 64512,
    routerId: WEFT,
    holdTime: 90,
    families: [Afi.Ipv6],
    gracefulRestart: { restartTime: 60, restarting: false },
  });
  assert.equal(negotiateFamilies(v6only, open([])), []);
  const gr = v6only.capabilities.find((c) => c.type === CapabilityCode.GracefulRestart);
  assert.equal(gr?.type === CapabilityCode.GracefulRestart && gr.families.map((f) => f.afi), [Afi.Ipv6]);
});

for (const [name, caps] of [
  ['IPv4 only', [mp(Afi.Ipv4), RR]],
  ['no multiprotocol capability', [RR]],
] as const) {
  test(`peer offering ${name}: weft sends IPv4 routes and IPv4 End-of-RIB, nothing IPv6`, async () => {
    const { weft, peer } = await session([...caps]);
    try {
      assert.equal([...peer.afisSeen()], [Afi.Ipv4]);
      assert.ok(peer.updates().some((u) => u.nlri.some((p) => p.addr === '10.244.1.0')));
      assert.equal(weft.status()[0]!.families, ['ipv4']);
      weft.advertise('2001:db8:2::/64'); // later changes too
      assert.equal(weft.refresh(PEER), [Afi.Ipv4]);
      assert.equal(weft.refresh(PEER, Afi.Ipv6), []);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal([...peer.afisSeen()], [Afi.Ipv4]);
      const refreshes = peer.got.filter((m) => m.type === MessageType.RouteRefresh);
      assert.equal(
        refreshes.map((m) => m.type === MessageType.RouteRefresh && m.afi),
        [Afi.Ipv4],
      );
      assert.is(weft.status()[0]!.state, 'Established');
    } finally {
      await weft.stop();
    }
  });
}

test('dual-stack peer: both End-of-RIBs; the IPv6 route rides MP_REACH with the configured IPv6 next hop', async () => {
  const { weft, peer } = await session([mp(Afi.Ipv4), mp(Afi.Ipv6)]);
  try {
    assert.equal([...peer.afisSeen()].sort(), [Afi.Ipv4, Afi.Ipv6]);
    const reach = peer
      .updates()
      .flatMap((u) => u.attributes)
      .find((a) => a.type === AttrType.MpReachNlri);
    assert.ok(reach && reach.type === AttrType.MpReachNlri);
    assert.is(reach.nextHop, '2001:db8::1');
    assert.equal(reach.nlri, [parsePrefix('2001:db8:1::/64')]);
    const eor6 = peer
      .updates()
      .some(
        (u) =>
          u.attributes.length === 1 &&
          u.attributes[0]!.type === AttrType.MpUnreachNlri &&
          u.attributes[0]!.withdrawn.length === 0,
      );
    assert.ok(eor6, 'IPv6 End-of-RIB');
    assert.equal(weft.status()[0]!.families, ['ipv4', 'ipv6']);
  } finally {
    await weft.stop();
  }
});

test('IPv4-only session: IPv6 prefixes and End-of-RIB from the peer are ignored, the session stays up', async () => {
  const { weft, peer } = await session([mp(Afi.Ipv4), RR]);
  try {
    const attrs = [
      { type: AttrType.Origin, origin: 0 },
      { type: AttrType.AsPath, segments: [] },
      { type: AttrType.LocalPref, localPref: 100 },
    ] as UpdateMessage['attributes'];
    const v6 = {
      type: AttrType.MpReachNlri,
      afi: Afi.Ipv6,
      safi: Safi.Unicast,
      nextHop: '2001:db8::2',
      nlri: [parsePrefix('2001:db8:9::/64')],
    } as UpdateMessage['attributes'][number];
    peer.conn.send({
      type: MessageType.Update,
      withdrawn: [],
      attributes: [v6, ...attrs, { type: AttrType.NextHop, nextHop: PEER }],
      nlri: [parsePrefix('10.244.9.0/24')],
    });
    peer.conn.send({
      type: MessageType.Update,
      withdrawn: [],
      nlri: [],
      attributes: [{ type: AttrType.MpUnreachNlri, afi: Afi.Ipv6, safi: Safi.Unicast, withdrawn: [] }],
    });
    await waitFor('IPv4 route learned', () => [...weft.routes()].some((r) => r.key === '10.244.9.0/24'));
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok([...weft.routes()].some((r) => r.prefix.afi === Afi.Ipv6 && r.source.id === PEER));
    assert.is(weft.status()[0]!.prefixesIgnored, 1);
    assert.is(weft.status()[0]!.state, 'Established');
    // RFC 2918 §4: a ROUTE-REFRESH for a family not negotiated is ignored; for IPv4 the routes come again.
    const before = peer.updates().length;
    peer.conn.send({ type: MessageType.RouteRefresh, afi: Afi.Ipv6, safi: Safi.Unicast, subtype: 0 });
    await new Promise((r) => setTimeout(r, 20));
    assert.is(peer.updates().length, before);
    peer.conn.send({ type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: 0 });
    await waitFor('IPv4 routes re-sent', () => peer.updates().length > before);
    assert.equal([...peer.afisSeen()], [Afi.Ipv4]);
    assert.equal(
      peer.got.filter((m) => m.type === MessageType.Notification),
      [],
    );
  } finally {
    await weft.stop();
  }
});

test('golden bytes: an IPv6 route exported on an IPv4 session, 32-byte next hop (RFC 2545 §3)', () => {
  const rib = new Rib({ localAs: 64512, routerId: WEFT });
  const p = {
    id: PEER,
    address: PEER,
    as: 64512,
    bgpId: PEER,
    ibgp: true,
    rrClient: false,
    localAddress: WEFT,
    families: [Afi.Ipv4, Afi.Ipv6],
  };
  rib.setPeer({ ...p, nextHops: { ipv6: '2001:db8::1' }, linkLocalNextHop: 'fe80::1' });
  rib.originate(parsePrefix('2001:db8:1::/64'), { ...emptyAttributes(), origin: 0 }, '');
  const [u] = buildUpdates(rib.exportsFor(PEER));
  const bytes = encodeMessageToBuffer(u!, { fourOctetAs: true });
  const want = hex(
    MARKER,
    '0056',
    '02', // length 86, UPDATE
    '0000', // no withdrawn routes
    '003f', // path attributes: 63 bytes
    '80 0e 2e', // MP_REACH_NLRI, optional, 46 bytes
    '0002 01', //   AFI 2 (IPv6), SAFI 1
    '20', //   next hop length 32: global + link-local
    '20010db8000000000000000000000001', //   2001:db8::1
    'fe800000000000000000000000000001', //   fe80::1
    '00', //   reserved
    '40 20010db800010000', //   2001:db8:1::/64
    '40 01 01 00', // ORIGIN IGP
    '40 02 00', // AS_PATH empty (iBGP)
    '40 05 04 00000064', // LOCAL_PREF 100
  );
  assert.is(Buffer.from(bytes).toString('hex'), Buffer.from(want).toString('hex'));
  // The same route to a peer that negotiated IPv4 only is not exported at all; nor without an IPv6 next hop.
  rib.setPeer({ ...p, id: 'v4', families: [Afi.Ipv4] });
  assert.equal(rib.exportsFor('v4').announce, []);
  rib.setPeer({ ...p, id: 'nonh' });
  assert.equal(rib.exportsFor('nonh').announce, []);
});

test.run();
