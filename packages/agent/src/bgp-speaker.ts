// The BGP speaker of BgpRouteSource (see bgp-source.ts): peers set up from the flags, our subnet advertised, and
// Loc-RIB best-route changes turned into backend peer changes.
import type { Logger } from 'pino';
import {
  Speaker,
  TcpTransport,
  LOCAL_SOURCE,
  isPassiveInMesh,
  routerMacCommunity,
  findRouterMac,
  type BestChange,
  type PeerStatus,
  type Route,
} from '@weft/route-sync';
import { tryParseIpv4Prefix as parseIp4Net } from '@weft/netaddr';
import type { PeerChange } from './backends/types.ts';
import type { BgpSourceOptions } from './bgp-source.ts';

const learned = (r: Route | null): r is Route => r !== null && r.source.id !== LOCAL_SOURCE;

/** Best-route changes of the Loc-RIB as backend peer changes; our own originated route is skipped. */
export function bestChangesToPeerChanges(batch: readonly BestChange[], ownSubnet: string): PeerChange[] {
  const out: PeerChange[] = [];
  for (const c of batch) {
    const text = `${c.prefix.addr}/${c.prefix.length}`;
    const subnet = c.prefix.afi === 1 ? parseIp4Net(text) : null;
    if (!subnet || text === ownSubnet) continue;
    if (learned(c.best)) {
      out.push({
        type: 'added',
        subnet,
        publicIp: c.best.nextHop,
        vtepMac: findRouterMac(c.best.attrs.extendedCommunities),
      });
    } else if (learned(c.previous)) {
      out.push({ type: 'removed', subnet, publicIp: c.previous.nextHop });
    }
  }
  return out;
}

export interface SpeakerSetup extends BgpSourceOptions {
  /** Our underlay address: router ID, listen and local address, next hop. */
  me: string;
  /** Our subnet as CIDR text, advertised. */
  subnet: string;
  vtepMac?: string;
  log: Logger;
}

/** Starts a speaker with the peers of `s`, advertises our subnet, and hands learned changes to `apply`. */
export async function startSpeaker(s: SpeakerSetup, apply: (changes: PeerChange[]) => void): Promise<Speaker> {
  const { me, log } = s;
  const transport = s.transport ?? new TcpTransport({ listenAddress: me, port: s.port });
  const speaker = new Speaker({ routerId: me, localAs: s.as, transport });
  const reflectors = new Set(s.routeReflectors);
  for (const rr of reflectors) speaker.addPeer({ address: rr, as: s.as, port: s.port, localAddress: me });
  for (const p of s.peers) {
    if (reflectors.has(p.address) || p.address === me) continue;
    const ibgp = p.as === s.as;
    speaker.addPeer({
      address: p.address,
      as: p.as,
      port: s.port,
      localAddress: me,
      passive: ibgp && isPassiveInMesh(me, p.address),
    });
  }
  speaker.on('routes', (batch: BestChange[]) => {
    const changes = bestChangesToPeerChanges(batch, s.subnet);
    if (changes.length) apply(changes);
  });
  speaker.on('peer', (p: PeerStatus) =>
    log.info({ peer: p.address, as: p.as, state: p.state, lastError: p.lastError }, 'bgp peer'),
  );
  await speaker.start();
  speaker.advertise(s.subnet, {
    nextHop: me,
    ...(s.vtepMac ? { extendedCommunities: [routerMacCommunity(s.vtepMac)] } : {}),
  });
  log.info(
    { as: s.as, routerId: me, port: s.port, advertised: s.subnet, peers: speaker.status().length },
    'bgp speaker started',
  );
  return speaker;
}
