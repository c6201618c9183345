// A GoBGP router (Debian's gobgpd 3.10: the daemon and the `gobgp` CLI) on a lab's underlay, 192.0.2.102 and
// 2001:db8::102 on br0, iBGP AS 64512, as the route reflector of the lab's weft nodes (which run without their own
// mesh). It is a third BGP implementation, after BIRD and FRR, and a strict one about what it accepts.
//
// Design notes
// - GoBGP keeps its defaults (timers, capabilities, no graceful restart, no zebra). The config holds only what an
//   operator writes to peer: global AS and router ID, the neighbours, route-reflector-client, and the families.
//   GoBGP offers a neighbour only the family of its address unless afi-safis are listed, so dual stack lists
//   ipv4-unicast and ipv6-unicast on every neighbour (as Calico's IPv4 sessions carry IPv6 too).
// - GoBGP installs nothing in the kernel (no zebra): it is checked through its RIB (`gobgp global rib -j`).
// - gobgpd runs in the foreground as a LabScope process (PID file, log in the scope's directory); its gRPC API
//   listens on 127.0.0.1 inside its own namespace on a port of our range, so it never meets another gobgpd.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess, Lab, LabNode, Netns } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { peerNamespace } from './peer-namespace.ts';

export const GOBGP4 = '192.0.2.102';
export const GOBGP6 = '2001:db8::102';
export const GOBGP_AS = 64512;
/** GoBGP's network, on its loopback so pods can ping into it, and the addresses in it that answer. */
export const GOBGP_NET4 = '198.51.100.0/25';
export const GOBGP_NET6 = '2001:db8:100::/64';
export const GOBGP_HOST4 = '198.51.100.1';
export const GOBGP_HOST6 = '2001:db8:100::1';
/** gobgpd's gRPC API, on loopback inside its namespace. */
export const GOBGP_API_PORT = 47402;

export interface GobgpOptions {
  /** The weft nodes' session addresses (either family; an IPv6 one is an IPv6 session). */
  neighbors: string[];
}

/** gobgpd.toml for `o`: each neighbour an iBGP route-reflector client with IPv4 and IPv6 unicast. */
export function gobgpConfig(o: GobgpOptions): string {
  const lines = ['[global.config]', `  as = ${GOBGP_AS}`, `  router-id = "${GOBGP4}"`];
  for (const n of o.neighbors) {
    lines.push(
      '',
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${n}"`,
      `    peer-as = ${GOBGP_AS}`,
      '  [neighbors.route-reflector.config]',
      '    route-reflector-client = true',
      `    route-reflector-cluster-id = "${GOBGP4}"`,
    );
    for (const family of ['ipv4-unicast', 'ipv6-unicast'])
      lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${family}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** The parts of `gobgp neighbor -j` the tests read. */
export interface GobgpNeighbor {
  conf: { neighbor_address: string };
  state: {
    session_state: number | string;
    admin_state?: number | string;
    flops?: number;
    messages?: {
      received?: Record<string, number>;
      sent?: Record<string, number>;
    };
    /** The capabilities GoBGP's OPEN carried (gRPC type names, e.g. type.googleapis.com/apipb.FqdnCapability). */
    local_cap?: { type_url: string }[];
  };
  /** uptime: when the session reached Established (Unix seconds). */
  timers?: { state?: { uptime?: { seconds?: number }; negotiated_hold_time?: number } };
  afi_safis?: { mp_graceful_restart?: { state?: { end_of_rib_received?: boolean } } }[];
}

/** GoBGP's session state 6 (or "established") is Established. */
export const isEstablished = (n: GobgpNeighbor | undefined): boolean =>
  n?.state.session_state === 6 || String(n?.state.session_state).toLowerCase() === 'established';

/** One path of `gobgp global rib -j` (a destination maps to a list of these). */
export interface GobgpPath {
  nlri: { prefix: string };
  attrs: { type: number; nexthop?: string; value?: unknown }[];
  best?: boolean;
  'source-id'?: string;
  'neighbor-ip'?: string;
}

export class GobgpRouter {
  daemon: BackgroundProcess | null = null;

  private constructor(
    readonly lab: Lab,
    readonly ns: Netns,
    readonly dir: string,
  ) {}

  /** GoBGP's namespace on the lab's br0, its addresses and config; starts gobgpd and waits for its API. */
  static async start(lab: Lab, o: GobgpOptions): Promise<GobgpRouter> {
    const addrs = { ip4: GOBGP4, ip6: GOBGP6, lo4: `${GOBGP_HOST4}/25`, lo6: `${GOBGP_HOST6}/64` };
    const { ns, dir } = await peerNamespace(lab, 'gobgp', addrs);
    const conf = join(dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpConfig(o));
    const r = new GobgpRouter(lab, ns, dir);
    await r.cli(['--version'], false); // nothing to check: just that the CLI runs
    const argv = ['gobgpd', '-f', conf, '-t', 'toml', '-p', '--pprof-disable'];
    r.daemon = lab.scope.spawn('gobgpd', ns, [...argv, '--api-hosts', `127.0.0.1:${GOBGP_API_PORT}`]);
    await waitFor(
      async () => {
        if (!r.daemon?.running) throw new Error(`gobgpd exited:\n${r.daemon?.log().slice(-2000)}`);
        return (await r.cli(['global', '-j'], false)).includes(GOBGP4);
      },
      15_000,
      'gobgpd API',
    );
    return r;
  }

  /** `gobgp ARGS` against this gobgpd; stdout. Throws on failure unless `strict` is false (then '' ). */
  async cli(args: string[], strict = true): Promise<string> {
    const r = await this.ns.exec(['gobgp', '-u', '127.0.0.1', '-p', String(GOBGP_API_PORT), ...args], {
      allowFailure: true,
      timeoutMs: 15_000,
    });
    if (r.code !== 0 && strict) throw new Error(`gobgp ${args.join(' ')}: exit ${r.code}: ${r.stderr}${r.stdout}`);
    return r.code === 0 ? r.stdout : '';
  }

  /** Every neighbour as `gobgp neighbor -j` reports it. */
  async neighbors(): Promise<GobgpNeighbor[]> {
    return JSON.parse((await this.cli(['neighbor', '-j'])) || '[]') as GobgpNeighbor[];
  }

  async neighbor(addr: string): Promise<GobgpNeighbor | undefined> {
    return (await this.neighbors()).find((n) => n.conf.neighbor_address === addr);
  }

  /** The neighbours of `addrs` that are Established, as GoBGP sees them. */
  async established(addrs: string[]): Promise<string[]> {
    const all = await this.neighbors();
    return addrs.filter((a) => isEstablished(all.find((n) => n.conf.neighbor_address === a)));
  }

  /** GoBGP's global RIB of one family: prefix to its paths. */
  async rib(family: 'ipv4' | 'ipv6'): Promise<Record<string, GobgpPath[]>> {
    return JSON.parse((await this.cli(['global', 'rib', '-a', family, '-j'])) || '{}') as Record<string, GobgpPath[]>;
  }

  /** The next hops of `prefix`'s paths in GoBGP's RIB (MP_REACH's or NEXT_HOP's). */
  async nextHopsOf(prefix: string): Promise<string[]> {
    const paths = (await this.rib(prefix.includes(':') ? 'ipv6' : 'ipv4'))[prefix] ?? [];
    return paths.flatMap((p) => p.attrs.filter((a) => a.nexthop !== undefined).map((a) => a.nexthop!));
  }

  /**
   * GoBGP has no FIB (no zebra): puts each node's subnets in its namespace's kernel via the next hops its RIB holds
   * for them, so pods' pings into GoBGP's network come back.
   */
  async routeToNodes(nodes: LabNode[]): Promise<void> {
    for (const n of nodes)
      for (const subnet of [n.subnet!, n.subnet6!]) {
        const [via] = await this.nextHopsOf(subnet);
        if (!via) throw new Error(`GoBGP's RIB has no ${subnet}`);
        await this.ns.ip(['route', 'replace', subnet, 'via', via, 'dev', 'eth0']);
      }
  }

  /** Originates `prefix` from GoBGP's global RIB, with `nextHop`, or without one (GoBGP then picks it per session). */
  async announce(prefix: string, nextHop?: string): Promise<void> {
    const nh = nextHop ? ['nexthop', nextHop] : [];
    await this.cli(['global', 'rib', 'add', prefix, ...nh, '-a', prefix.includes(':') ? 'ipv6' : 'ipv4']);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.cli(['global', 'rib', 'del', prefix, '-a', prefix.includes(':') ? 'ipv6' : 'ipv4']);
  }

  /** What the test prints when it fails: neighbours, both RIBs, and the end of gobgpd's log. */
  async dump(): Promise<string> {
    const parts = [
      await this.cli(['neighbor'], false),
      await this.cli(['global', 'rib', '-a', 'ipv4'], false),
      await this.cli(['global', 'rib', '-a', 'ipv6'], false),
      `--- gobgpd log:\n${this.daemon?.log().slice(-4000) ?? ''}`,
    ];
    return parts.join('\n');
  }

  /** Stops gobgpd by PID. */
  async stop(): Promise<void> {
    await this.daemon?.stop(5000);
  }
}
