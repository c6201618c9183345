// An FRR router (Debian's frr: zebra and bgpd, nothing else) on a lab's underlay, 192.0.2.101 and 2001:db8::101
// on br0, iBGP AS 64512, as the route reflector of the lab's weft nodes (which run without their own mesh): each
// node's routes reach the others through FRR, and FRR's own network (198.51.100.1/24 and 2001:db8:100::1/64 on
// its loopback, so pods can ping into it) reaches them all.
//
// Design notes
// - FRR keeps its defaults (Debian's "traditional" profile: IPv4 unicast active on every neighbour, helper-mode
//   graceful restart, default timers). The config holds only what an operator writes to peer: the neighbours,
//   `activate` for IPv6 unicast (off by default in FRR, on any session), route-reflector-client, the networks,
//   and, where a test restarts FRR, `bgp graceful-restart` with preserve-fw-state (a GR speaker, RFC 4724).
// - No systemd and nothing in the root namespace: both daemons run in the foreground as LabScope processes with
//   config, PID files, the zserv socket and vty sockets in the scope's directory; bgpd can be killed (SIGKILL, by
//   PID) and started again on the same config while zebra stays.
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run as runCmd, type BackgroundProcess, type Lab, type Netns } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { peerNamespace } from './peer-namespace.ts';

export const FRR4 = '192.0.2.101';
export const FRR6 = '2001:db8::101';
/** FRR's own network and the address in it that answers pings. */
export const FRR_NET4 = '198.51.100.0/24';
export const FRR_NET6 = '2001:db8:100::/64';
export const FRR_HOST4 = '198.51.100.1';
export const FRR_HOST6 = '2001:db8:100::1';
const FRR_BIN = '/usr/lib/frr';

export interface FrrRouterOptions {
  /** The weft nodes' session addresses (either family; an IPv6 one is an IPv6 session). */
  neighbors: string[];
  /** Activate IPv6 unicast for every neighbour (dual stack; IPv6-only sessions need it as well). */
  ipv6: boolean;
  /** IPv4 unicast stays active on IPv6 sessions only when true (an IPv6-only cluster switches it off). */
  ipv4OnIpv6Sessions?: boolean;
  /** `bgp graceful-restart`: FRR restarts gracefully itself (a test kills and restarts bgpd). */
  gracefulRestart?: boolean;
}

/** bgpd.conf for `o`. */
export function frrRouterConfig(o: FrrRouterOptions): string {
  const lines = ['hostname fx-frr', 'router bgp 64512', ` bgp router-id ${FRR4}`];
  // Restarting gracefully, with the kernel's routes kept (F bit, RFC 4724 §3): zebra retains them across bgpd.
  if (o.gracefulRestart) lines.push(' bgp graceful-restart', ' bgp graceful-restart preserve-fw-state');
  for (const n of o.neighbors) lines.push(` neighbor ${n} remote-as 64512`);
  lines.push('address-family ipv4 unicast', ` network ${FRR_NET4}`);
  for (const n of o.neighbors) {
    if (n.includes(':') && !o.ipv4OnIpv6Sessions) lines.push(` no neighbor ${n} activate`);
    else lines.push(` neighbor ${n} route-reflector-client`);
  }
  lines.push('exit-address-family');
  if (o.ipv6) {
    lines.push('address-family ipv6 unicast', ` network ${FRR_NET6}`);
    for (const n of o.neighbors) lines.push(` neighbor ${n} activate`, ` neighbor ${n} route-reflector-client`);
    lines.push('exit-address-family');
  }
  return `${lines.join('\n')}\n`;
}

/** The parts of `show bgp neighbors X json` the tests read. */
export interface FrrNeighbor {
  bgpState?: string;
  gracefulRestartInfo?: Record<string, { endOfRibStatus?: { endOfRibRecv?: boolean } } | undefined>;
}

export class FrrRouter {
  zebra: BackgroundProcess | null = null;
  bgpd: BackgroundProcess | null = null;
  private restarts = 0;

  private constructor(
    readonly lab: Lab,
    readonly ns: Netns,
    readonly dir: string,
  ) {}

  /** FRR's namespace on the lab's br0, its addresses and network, config; starts zebra and bgpd. */
  static async start(lab: Lab, o: FrrRouterOptions): Promise<FrrRouter> {
    const addrs = { ip4: FRR4, ip6: FRR6, lo4: `${FRR_HOST4}/24`, lo6: `${FRR_HOST6}/64` };
    const { ns, dir } = await peerNamespace(lab, 'frr', addrs);
    await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const uid = Number((await runCmd(['id', '-u', 'frr'])).stdout.trim());
    const gid = Number((await runCmd(['id', '-g', 'frr'])).stdout.trim());
    chownSync(dir, uid, gid);
    writeFileSync(join(dir, 'bgpd.conf'), frrRouterConfig(o));
    writeFileSync(join(dir, 'zebra.conf'), 'hostname fx-frr\n');
    const frr = new FrrRouter(lab, ns, dir);
    frr.zebra = lab.scope.spawn('frr-zebra', ns, [`${FRR_BIN}/zebra`, ...frr.daemonArgs('zebra')]);
    await waitFor(async () => (await frr.vtysh('zebra', 'show version')).includes('FRRouting'), 15_000, 'zebra');
    await frr.startBgpd();
    return frr;
  }

  private daemonArgs(daemon: 'zebra' | 'bgpd'): string[] {
    const d = this.dir;
    return [
      ...['-f', join(d, `${daemon}.conf`), '-i', join(d, `${daemon}.pid`), '-z', join(d, 'zserv.api')],
      ...['--vty_socket', d, '-P', '0', '--log', `file:${join(d, `${daemon}-frr.log`)}`],
    ];
  }

  /** Starts bgpd on the same config; resolves once it answers vtysh. */
  async startBgpd(): Promise<void> {
    this.bgpd = this.lab.scope.spawn(`frr-bgpd-${this.restarts++}`, this.ns, [
      `${FRR_BIN}/bgpd`,
      ...this.daemonArgs('bgpd'),
    ]);
    await waitFor(async () => (await this.vtysh('bgpd', 'show version')).includes('FRRouting'), 15_000, 'bgpd');
  }

  /** SIGKILL to bgpd (no NOTIFICATION, sessions just drop: what graceful restart is for). */
  async killBgpd(): Promise<void> {
    const p = this.bgpd;
    this.bgpd = null;
    p?.child.kill('SIGKILL');
    await p?.exited;
  }

  /** One vtysh command against one daemon; '' when it does not answer. */
  async vtysh(daemon: 'zebra' | 'bgpd', cmd: string): Promise<string> {
    const r = await runCmd(['vtysh', '--vty_socket', this.dir, '-d', daemon, '-c', cmd], {
      timeoutMs: 15_000,
      allowFailure: true,
    });
    return r.stdout;
  }

  /** `show bgp neighbors X json` for one neighbour; null when bgpd does not answer. */
  async neighbor(addr: string): Promise<FrrNeighbor | null> {
    try {
      const all = JSON.parse(await this.vtysh('bgpd', `show bgp neighbors ${addr} json`)) as Record<
        string,
        FrrNeighbor
      >;
      return all[addr] ?? null;
    } catch {
      return null;
    }
  }

  /** The neighbours of `addrs` that are Established, as FRR sees them. */
  async established(addrs: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const a of addrs) if ((await this.neighbor(a))?.bgpState === 'Established') out.push(a);
    return out;
  }

  /** zebra installed `prefix` via `via` in FRR's kernel table (`ip route` prints an nhid before the gateway). */
  async kernelRouteVia(prefix: string, via: string): Promise<boolean> {
    const out = (await this.ns.ip([prefix.includes(':') ? '-6' : '-4', 'route', 'show', prefix])).stdout;
    return new RegExp(`^${prefix.replace(/[.]/g, '\\.')} (nhid \\d+ )?via ${via.replace(/[.]/g, '\\.')} `, 'm').test(
      out,
    );
  }

  /** What the test prints when it fails: FRR's tables of both families and its kernel routes. */
  async dump(): Promise<string> {
    const parts = [
      await this.vtysh('bgpd', 'show bgp summary'),
      await this.vtysh('bgpd', 'show bgp ipv4 unicast'),
      await this.vtysh('bgpd', 'show bgp ipv6 unicast'),
      (await this.ns.ip(['-4', 'route'])).stdout,
      (await this.ns.ip(['-6', 'route'])).stdout,
    ];
    return parts.join('\n');
  }

  /** Stops bgpd and zebra by PID. */
  async stop(): Promise<void> {
    await this.bgpd?.stop(5000);
    await this.zebra?.stop(5000);
  }
}
