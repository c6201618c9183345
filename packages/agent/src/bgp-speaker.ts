// The BGP speaker of BgpRouteSource (see bgp-source.ts): peers set up from the flags, our subnet advertised, and
// Loc-RIB best-route changes turned into backend peer changes (IPv4) and IPv6 route changes (dual stack).
import type { Logger } from 'pino';
import {
  Afi,
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
import { tryParseIpv4Prefix as parseIp4Net, tryParseIpv6, tryParseIpv6Prefix } from '@weft/netaddr';
import type { PeerChange } from './backends/types.ts';
import type { Ipv6PeerChange } from './backends/ipv6-routes.ts';
import type { BgpSourceOptions } from './bgp-source.ts';
import type { RouterIdSource } from './bgp-router-id.ts';

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

/**
 * True for an IPv4-mapped IPv6 next hop (::ffff:a.b.c.d, RFC 4291 §2.5.5.2): GoBGP sends its own IPv6 routes on an
 * IPv4 session so (it has no IPv6 address there). Linux routes IPv6 only via IPv6 gateways (an IPv6 route takes
 * neither an IPv4 gateway nor an IPv4 nexthop object), and nobody answers neighbour discovery for a mapped address.
 */
export function isIpv4MappedNextHop(nextHop: string): boolean {
  const ip = tryParseIpv6(nextHop);
  return ip !== null && ip >> 32n === 0xffffn;
}

/** A learned route whose next hop a kernel route can use (not an IPv4-mapped one). */
const installable = (r: Route | null): r is Route => learned(r) && !isIpv4MappedNextHop(r.nextHop);

/**
 * Best-route changes of IPv6 prefixes as IPv6 route changes (next hop: the global IPv6 one); ours skipped, and
 * routes via an IPv4-mapped next hop too (a route that moves to one is removed).
 */
export function bestChangesToIpv6Changes(
  batch: readonly BestChange[],
  ownSubnet: string | undefined,
): Ipv6PeerChange[] {
  const out: Ipv6PeerChange[] = [];
  for (const c of batch) {
    const text = `${c.prefix.addr}/${c.prefix.length}`;
    const subnet = c.prefix.afi === 2 ? tryParseIpv6Prefix(text) : null;
    if (!subnet || text === ownSubnet) continue;
    if (installable(c.best)) out.push({ type: 'added', subnet, publicIp: c.best.nextHop });
    else if (installable(c.previous)) out.push({ type: 'removed', subnet, publicIp: c.previous.nextHop });
  }
  return out;
}

export interface SpeakerSetup extends BgpSourceOptions {
  /** Our IPv4 underlay address: listen and local address, next hop; 0.0.0.0 on an IPv6-only node. */
  me: string;
  /** The BGP identifier (bgp-router-id.ts) and how it was chosen, for the log. */
  routerId: string;
  source: RouterIdSource;
  /** Our IPv4 subnet as CIDR text, advertised; null on an IPv6-only node. */
  subnet: string | null;
  vtepMac?: string;
  /** Dual stack: our IPv6 subnet (CIDR text, advertised) and IPv6 underlay address (its next hop). */
  ipv6?: { subnet: string; me: string };
  log: Logger;
}

/**
 * Our side of a session with `address`: the local address of its family and the next hop of the other family
 * (an IPv4 session carries our IPv6 subnet with our IPv6 next hop, and the reverse). Null for an IPv6 neighbour
 * when we have no IPv6 address.
 */
function sessionSide(
  s: SpeakerSetup,
  address: string,
): { localAddress: string; nextHops?: { ipv4?: string; ipv6?: string }; families?: Afi[] } | null {
  if (!address.includes(':'))
    return s.subnet ? { localAddress: s.me, ...(s.ipv6 ? { nextHops: { ipv6: s.ipv6.me } } : {}) } : null;
  if (!s.ipv6) return null;
  // IPv6 only: IPv6 unicast alone is offered (no IPv4 route to send, no IPv4 next hop to install one via).
  return { localAddress: s.ipv6.me, ...(s.subnet ? { nextHops: { ipv4: s.me } } : { families: [Afi.Ipv6] }) };
}

/** Where the speaker listens: our IPv4 address, every address when IPv6 neighbours come too, IPv6 only ours. */
function listenAddressOf(s: SpeakerSetup, anyIpv6: boolean): string {
  if (!s.subnet && s.ipv6) return s.ipv6.me;
  return anyIpv6 && s.ipv6 ? '::' : s.me;
}

/** Starts a speaker with the peers of `s`, advertises our subnet(s), and hands learned changes to `apply`. */
export async function startSpeaker(
  s: SpeakerSetup,
  apply: (changes: PeerChange[], ipv6?: Ipv6PeerChange[]) => void,
): Promise<Speaker> {
  const { me, log } = s;
  const own = new Set([me, s.ipv6?.me]);
  const anyIpv6 = [...s.routeReflectors, ...s.peers.map((p) => p.address)].some((a) => a.includes(':'));
  // IPv6 neighbours connect to our IPv6 address: listen on every address (IPv4 ones too) then.
  const listenAddress = listenAddressOf(s, anyIpv6);
  const transport = s.transport ?? new TcpTransport({ listenAddress, port: s.port });
  const speaker = new Speaker({ routerId: s.routerId, localAs: s.as, transport });
  const reflectors = new Set(s.routeReflectors);
  const add = (address: string, as: number, passive: boolean) => {
    const side = sessionSide(s, address);
    if (side) speaker.addPeer({ address, as, port: s.port, ...side, passive });
    else if (address.includes(':'))
      log.error({ peer: address }, 'IPv6 BGP neighbour left out: this node has no IPv6 address (EnableIPv6)');
    else log.error({ peer: address }, 'IPv4 BGP neighbour left out: this node is IPv6 only (EnableIPv4 false)');
  };
  for (const rr of reflectors) add(rr, s.as, false);
  for (const p of s.peers) {
    if (reflectors.has(p.address) || own.has(p.address)) continue;
    const local = sessionSide(s, p.address)?.localAddress ?? me;
    add(p.address, p.as, p.as === s.as && isPassiveInMesh(local, p.address));
  }
  speaker.on('routes', (batch: BestChange[]) => {
    for (const c of batch)
      if (learned(c.best) && c.prefix.afi === Afi.Ipv6 && isIpv4MappedNextHop(c.best.nextHop))
        log.warn(
          { prefix: `${c.prefix.addr}/${c.prefix.length}`, nextHop: c.best.nextHop, from: c.best.source.id },
          'IPv6 route via an IPv4-mapped next hop not installed: Linux routes IPv6 only via IPv6 gateways',
        );
    const changes = bestChangesToPeerChanges(batch, s.subnet ?? '');
    const ipv6 = s.ipv6 ? bestChangesToIpv6Changes(batch, s.ipv6.subnet) : [];
    if (changes.length || ipv6.length) apply(changes, ipv6);
  });
  speaker.on('peer', (p: PeerStatus) =>
    log.info({ peer: p.address, as: p.as, state: p.state, lastError: p.lastError }, 'bgp peer'),
  );
  await speaker.start();
  if (s.subnet)
    speaker.advertise(s.subnet, {
      nextHop: me,
      ...(s.vtepMac ? { extendedCommunities: [routerMacCommunity(s.vtepMac)] } : {}),
    });
  if (s.ipv6) speaker.advertise(s.ipv6.subnet, { nextHop: s.ipv6.me });
  log.info(
    {
      as: s.as,
      routerId: s.routerId,
      routerIdFrom: s.source,
      port: s.port,
      listen: listenAddress,
      advertised: [...(s.subnet ? [s.subnet] : []), ...(s.ipv6 ? [s.ipv6.subnet] : [])],
      peers: speaker.status().length,
    },
    'bgp speaker started',
  );
  return speaker;
}
