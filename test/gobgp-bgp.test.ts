// weft agents (native backend, --route-sync bgp, dual stack) peering with a real GoBGP (support/gobgp.ts) as their
// route reflector, without a node-to-node mesh: n1 over an IPv4 session, n2 over an IPv6 session, each carrying
// IPv4 and IPv6 unicast. GoBGP stays at its defaults (timers, capabilities: it offers extended next hop and FQDN,
// and no graceful restart), the third independent implementation after BIRD and FRR. Checked: both sessions
// Established on both sides with both families and our End-of-RIBs; each node's subnets in GoBGP's RIB via the
// node's own addresses; routes GoBGP originates with next hops of their family in both kernels, and pods ping each
// other and into GoBGP's network over both families; the sessions stay up for a minute (no reset, no NOTIFICATION
// either way) while GoBGP announces and withdraws routes.
// Routes GoBGP originates without a next hop get its session address, whatever their family: an IPv6 route on the
// IPv4 session goes via ::ffff:192.0.2.102, which Linux cannot route via (weft leaves it out and says so), and an
// IPv4 route on the IPv6 session via 2001:db8::102 although weft did not offer extended next hop (RFC 8950 §4:
// GoBGP must not send it; weft ignores and counts it). Both are checked as such.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith, type LabNode } from '@weft/lab';
import { labUp, waitFor, type RunningLab } from 'weft/lab';
import {
  GOBGP4,
  GOBGP6,
  GOBGP_HOST4,
  GOBGP_HOST6,
  GOBGP_NET4,
  GOBGP_NET6,
  GobgpRouter,
  isEstablished,
  type GobgpNeighbor,
} from './support/gobgp.ts';
import { assertPingsBothWays, kernelRoute, pingAll } from './support/dual-stack.ts';
import { type BgpSession, routeVia, sessionOf, waitKernelRoutes } from './support/bgp-lab-checks.ts';
import { twoNodeLab } from './support/two-node-lab.ts';
import { withPeerLab } from './support/peer-namespace.ts';

const t0 = Date.now();
const say = (m: string) => console.log(`[gobgp +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** GoBGP's network (its hosts answer pings); a pair with GoBGP's own next hops; a pair announced then withdrawn. */
const GOBGP_NETS = [GOBGP_NET4, GOBGP_NET6];
const DEFAULT_NH_NETS = ['198.51.100.128/26', '2001:db8:101::/64'];
const LATER_NETS = ['198.51.100.192/26', '2001:db8:102::/64'];
/** How long the sessions must stay up with routes changing. */
const STABLE_MS = 60_000;
/** n1 peers with GoBGP over IPv4, n2 over IPv6. */
const gobgpAddressFor = (n: LabNode) => (n.name === 'n1' ? GOBGP4 : GOBGP6);
const sessionAddress = (n: LabNode) => (n.name === 'n1' ? n.underlayIp : n.underlayIp6!);
const gobgpVia = (prefix: string) => (prefix.includes(':') ? GOBGP6 : GOBGP4);
/** What /status says of a session beyond bgp-lab-checks' BgpSession. */
type WeftSession = BgpSession & { uptimeSeconds: number; lastError: string | null; prefixesIgnored: number };

/** Two dual-stack native BGP nodes without a mesh, GoBGP (started before the agents) their route reflector. */
async function startLab(): Promise<{ run: RunningLab; gobgp: GobgpRouter }> {
  let gobgp: GobgpRouter | null = null;
  const options = twoNodeLab({
    name: 'h4-gobgp',
    backend: 'native',
    routeSync: 'bgp',
    families: 'dual-stack',
    bgpMesh: false,
    nodeArgs: (n) => ['--route-reflector', gobgpAddressFor(n)],
    beforeAgents: async (lab) => {
      gobgp = await GobgpRouter.start(lab, { neighbors: lab.nodes.map(sessionAddress) });
      say(`GoBGP up: neighbours ${lab.nodes.map(sessionAddress).join(', ')}`);
    },
  });
  try {
    const run = await labUp(options, say);
    return { run, gobgp: gobgp! };
  } catch (e) {
    // labUp tore the lab down (gobgpd with it); its log is still on disk.
    const g = gobgp as GobgpRouter | null;
    console.log(`--- gobgpd log:\n${g?.daemon?.log().slice(-4000) ?? '(not started)'}`);
    throw e;
  }
}

/** The counters that move when a session resets or a NOTIFICATION passes. */
function resetMarks(n: GobgpNeighbor | undefined) {
  const m = n?.state.messages;
  return {
    established: isEstablished(n),
    uptime: n?.timers?.state?.uptime?.seconds,
    flops: n?.state.flops ?? 0,
    notificationsReceived: m?.received?.notification ?? 0,
    notificationsSent: m?.sent?.notification ?? 0,
  };
}

/** Each node's subnets in GoBGP's RIB, via the node's own address of that family (a reflector keeps next hops). */
async function checkGobgpRib(gobgp: GobgpRouter, nodes: LabNode[]): Promise<void> {
  for (const n of nodes)
    for (const [subnet, via] of [
      [n.subnet!, n.underlayIp],
      [n.subnet6!, n.underlayIp6!],
    ] as const)
      await waitFor(
        async () => (await gobgp.nextHopsOf(subnet)).includes(via),
        20_000,
        `GoBGP RIB: ${subnet} via ${via}`,
      );
}

/** Every [prefix, next hop] in every node's kernel. */
async function checkKernels(nodes: LabNode[], wants: (n: LabNode) => [string, string][]): Promise<void> {
  for (const n of nodes) await waitKernelRoutes(n, wants(n), 30_000);
}

/** The running lab: GoBGP, the two nodes and their session addresses (as GoBGP names its neighbours). */
interface Ctx {
  run: RunningLab;
  gobgp: GobgpRouter;
  nodes: [LabNode, LabNode];
  neighbors: string[];
}

const other = (c: Ctx, n: LabNode) => (n === c.nodes[0] ? c.nodes[1] : c.nodes[0]);
const pods = (c: Ctx) => [c.nodes[0].pods[0]!, c.nodes[1].pods[0]!] as const;

/** Both sessions up on both sides with both families; GoBGP's OPEN as it is by default; our End-of-RIBs arrived. */
async function checkSessions(c: Ctx): Promise<void> {
  const { gobgp, nodes, neighbors } = c;
  await waitFor(async () => (await gobgp.established(neighbors)).length === 2, 60_000, 'GoBGP: both Established');
  for (const n of nodes) {
    const s = await sessionOf(n, gobgpAddressFor(n));
    assert.is(s?.state, 'Established', `${n.name}: the session to GoBGP is Established`);
    assert.equal(s?.families, ['ipv4', 'ipv6'], `${n.name}: the session to GoBGP carries both families`);
  }
  const caps = ((await gobgp.neighbor(neighbors[0]!))?.state.local_cap ?? []).map((x) => x.type_url.split('.').at(-1));
  say(`GoBGP's OPEN: ${caps.join(' ')}`);
  assert.not.ok(caps.includes('GracefulRestartCapability'), 'GoBGP offers no graceful restart by default');
  for (const a of neighbors) {
    const eor = (await gobgp.neighbor(a))?.afi_safis?.map((f) => f.mp_graceful_restart?.state?.end_of_rib_received);
    assert.equal(eor, [true, true], `GoBGP got both End-of-RIBs from ${a}`);
  }
  await checkGobgpRib(gobgp, nodes);
  say("both nodes' subnets of both families in GoBGP's RIB");
}

/** Routes GoBGP originates with next hops of their own family: in both kernels; pods reach them and each other. */
async function checkOriginated(c: Ctx): Promise<void> {
  for (const p of GOBGP_NETS) await c.gobgp.announce(p, gobgpVia(p));
  await c.gobgp.routeToNodes(c.nodes);
  await checkKernels(c.nodes, (n) => [
    [other(c, n).subnet!, other(c, n).underlayIp],
    [other(c, n).subnet6!, other(c, n).underlayIp6!],
    ...GOBGP_NETS.map((p) => [p, gobgpVia(p)] as [string, string]),
  ]);
  say("GoBGP's routes and the other node's, both families, in both kernels");
  const [p1, p2] = pods(c);
  await assertPingsBothWays(p1, p2, (to) => [to.ip, to.ip6!]);
  for (const p of [p1, p2])
    for (const ip of [GOBGP_HOST4, GOBGP_HOST6]) assert.ok(await pingAll(p, ip), `${p.name} -> ${ip} ping`);
  say("pods ping each other and GoBGP's network over both families");
}

/** Without a next hop GoBGP gives its session address: the route of the other family is not installable. */
async function checkGobgpChosenNextHops(c: Ctx): Promise<void> {
  const [n1, n2] = c.nodes;
  const [net4, net6] = DEFAULT_NH_NETS as [string, string];
  for (const p of DEFAULT_NH_NETS) await c.gobgp.announce(p);
  await waitFor(
    () => /IPv6 route via an IPv4-mapped next hop not installed/.test(c.run.agents.get(n1.name)!.log()),
    20_000,
    "n1: the log names GoBGP's IPv4-mapped next hop",
  );
  await waitFor(
    async () => (((await sessionOf(n2, GOBGP6)) as WeftSession | undefined)?.prefixesIgnored ?? 0) >= 1,
    20_000,
    "n2: GoBGP's IPv4 route with an IPv6 next hop ignored (no extended next hop negotiated)",
  );
  await waitKernelRoutes(n1, [[net4, GOBGP4]], 20_000);
  await waitKernelRoutes(n2, [[net6, GOBGP6]], 20_000);
  assert.is(await kernelRoute(n1, net6), '', 'n1: no IPv6 route via ::ffff:192.0.2.102');
  assert.is(await kernelRoute(n2, net4), '', 'n2: no IPv4 route via 2001:db8::102');
  say('GoBGP-chosen next hops: own-family routes installed, the others left out as expected');
}

/** A minute of GoBGP's default keepalives (30 s) with an announcement and a withdrawal in the middle. */
async function checkStableMinute(c: Ctx): Promise<void> {
  const { gobgp, nodes, neighbors } = c;
  const before = await Promise.all(neighbors.map((a) => gobgp.neighbor(a)));
  const started = Date.now();
  await sleep(STABLE_MS / 4);
  for (const p of LATER_NETS) await gobgp.announce(p, gobgpVia(p));
  await checkKernels(nodes, () => LATER_NETS.map((p) => [p, gobgpVia(p)]));
  say('GoBGP announced more routes: in both kernels');
  await sleep(STABLE_MS / 4);
  for (const p of LATER_NETS) await gobgp.withdraw(p);
  for (const n of nodes)
    for (const p of LATER_NETS)
      await waitFor(async () => (await kernelRoute(n, p)) === '', 20_000, `${n.name}: ${p} withdrawn`);
  say('GoBGP withdrew them: gone from both kernels');
  await sleep(Math.max(0, STABLE_MS - (Date.now() - started)));
  for (const [i, a] of neighbors.entries()) {
    const was = resetMarks(before[i]);
    const now = resetMarks(await gobgp.neighbor(a));
    assert.ok(was.established && was.uptime !== undefined, `GoBGP's session with ${a} was up`);
    assert.equal(now, was, `GoBGP's session with ${a}: no reset, no NOTIFICATION`);
    assert.is(now.notificationsReceived + now.notificationsSent, 0, `no NOTIFICATION with ${a}`);
  }
  for (const n of nodes) {
    const s = (await sessionOf(n, gobgpAddressFor(n))) as WeftSession | undefined;
    assert.is(s?.state, 'Established', `${n.name}: still Established`);
    assert.ok((s?.uptimeSeconds ?? 0) >= STABLE_MS / 1000, `${n.name}: session up ${s?.uptimeSeconds} s`);
    assert.is(s?.lastError ?? null, null, `${n.name}: no session error`);
    for (const p of GOBGP_NETS)
      assert.match(await kernelRoute(n, p), routeVia(gobgpVia(p)), `${n.name}: ${p} still via GoBGP`);
  }
  await assertPingsBothWays(...pods(c), (to) => [to.ip, to.ip6!]);
  say('a minute later: same sessions, no NOTIFICATION, routes and pings in place');
}

if (canRunWith('weft agents with GoBGP, dual stack', ['ip', 'ping', 'gobgpd', 'gobgp', '/usr/lib/cni/bridge'])) {
  test('native + BGP dual stack through GoBGP at its defaults: sessions, RIBs, kernel routes, pings, a stable minute', async () => {
    const { run, gobgp } = await startLab();
    const nodes = run.lab.nodes as [LabNode, LabNode];
    const c: Ctx = { run, gobgp, nodes, neighbors: nodes.map(sessionAddress) };
    await withPeerLab(run, gobgp, 'GoBGP', async () => {
      await checkSessions(c);
      await checkOriginated(c);
      await checkGobgpChosenNextHops(c);
      await checkStableMinute(c);
    });
  });
}

test.run();
