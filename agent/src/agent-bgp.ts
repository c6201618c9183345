// `--route-sync bgp`: Calico's way. The agent runs a BGP speaker, advertises its leased subnet with next hop =
// its underlay address (and, for vxlan, its VTEP MAC in the EVPN Router's MAC extended community, RFC 9135),
// and the best routes it learns drive the backend instead of lease watching. Peers: the other nodes given with
// --bgp-peer (an iBGP full mesh when their AS is ours: the node whose address compares greater connects, the
// other listens), route reflectors (--route-reflector), and external routers (--bgp-peer with another AS).
import type { Logger } from 'pino';
import { Speaker, TcpTransport, LOCAL_SOURCE, isPassiveInMesh, routerMacCommunity, findRouterMac, type BestChange, type PeerStatus, type Route } from '@weft/route-sync';
import { formatIp4Net, parseIp4Net, type PeerChange, type RunningAgent } from '@weft/agent';
import type { ExtraFlags } from './agent-flags.ts';

export interface BgpHandle {
  speaker: Speaker;
  status(): PeerStatus[];
  stop(): Promise<void>;
}

const learned = (r: Route | null): r is Route => r !== null && r.source.id !== LOCAL_SOURCE;

/** Best-route changes of the Loc-RIB as backend peer changes; our own originated route is skipped. */
export function bestChangesToPeerChanges(batch: readonly BestChange[], ownSubnet: string): PeerChange[] {
  const out: PeerChange[] = [];
  for (const c of batch) {
    const text = `${c.prefix.addr}/${c.prefix.length}`;
    const subnet = c.prefix.afi === 1 ? parseIp4Net(text) : null;
    if (!subnet || text === ownSubnet) continue;
    if (learned(c.best)) {
      out.push({ type: 'added', subnet, publicIp: c.best.nextHop, vtepMac: findRouterMac(c.best.attrs.extendedCommunities) });
    } else if (learned(c.previous)) {
      out.push({ type: 'removed', subnet, publicIp: c.previous.nextHop });
    }
  }
  return out;
}

export async function startBgp(agent: RunningAgent, flags: ExtraFlags, log: Logger): Promise<BgpHandle> {
  const me = agent.publicIp;
  const subnet = formatIp4Net(agent.lease()!.subnet);
  const speaker = new Speaker({
    routerId: me,
    localAs: flags.bgpAs,
    transport: new TcpTransport({ listenAddress: me, port: flags.bgpPort }),
  });
  const reflectors = new Set(flags.routeReflectors);
  for (const rr of reflectors) speaker.addPeer({ address: rr, as: flags.bgpAs, port: flags.bgpPort, localAddress: me });
  for (const p of flags.bgpPeers) {
    if (reflectors.has(p.address) || p.address === me) continue;
    const ibgp = p.as === flags.bgpAs;
    speaker.addPeer({ address: p.address, as: p.as, port: flags.bgpPort, localAddress: me, passive: ibgp && isPassiveInMesh(me, p.address) });
  }
  speaker.on('routes', (batch: BestChange[]) => {
    const changes = bestChangesToPeerChanges(batch, subnet);
    if (changes.length) agent.applyRoutes(changes, 'bgp');
  });
  speaker.on('peer', (s: PeerStatus) => log.info({ peer: s.address, as: s.as, state: s.state, lastError: s.lastError }, 'bgp peer'));
  await speaker.start();
  speaker.advertise(subnet, {
    nextHop: me,
    ...(agent.vtepMac ? { extendedCommunities: [routerMacCommunity(agent.vtepMac)] } : {}),
  });
  log.info({ as: flags.bgpAs, routerId: me, port: flags.bgpPort, advertised: subnet, peers: speaker.status().length }, 'bgp speaker started');
  return { speaker, status: () => speaker.status(), stop: () => speaker.stop() };
}
