// A two-namespace lab for FRR interop: FRR's zebra and bgpd in one namespace (192.0.2.1, 2001:db8:ff::1), a weft
// speaker in the other (192.0.2.2, 2001:db8:ff::2; the bird-worker.ts process), one veth, iBGP AS 64512.
//
// Design notes
// - No systemd and nothing in the root namespace: zebra and bgpd run in the foreground as LabScope processes
//   (stopped by PID), with config, PID files, the zserv socket and the vty sockets in the scope's directory.
// - zebra runs too: bgpd's default `bgp network import-check` only originates a `network` that is in the RIB,
//   and zebra is what installs learned routes as kernel routes, which the tests check. Nothing else of FRR runs.
// - FRR keeps its defaults (profile "traditional", the Debian one); the tests set only timers and what the
//   scenario is about (which families a neighbour has, graceful restart on or at its default).
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabScope, run, type BackgroundProcess, type Netns } from '@weft/lab';
import { WORKER, workerRequest } from './bird-lab.ts';
import type { WorkerConfig } from './bird-worker.ts';
import { waitFor } from './speaker-helpers.ts';

export const FRR_IP = '192.0.2.1';
export const WEFT_IP = '192.0.2.2';
export const FRR_IP6 = '2001:db8:ff::1';
export const WEFT_IP6 = '2001:db8:ff::2';
const FRR_DIR = '/usr/lib/frr';

export interface FrrOptions {
  /** The weft neighbour's address as FRR sees it: WEFT_IP (IPv4 session) or WEFT_IP6 (IPv6 session). */
  neighbor: string;
  /** Families FRR activates for the neighbour (FRR's default is IPv4 unicast only, on any session). */
  families: ('ipv4' | 'ipv6')[];
  /** `bgp graceful-restart` (FRR restarts gracefully itself); default: FRR's default, helper only. */
  gracefulRestart?: boolean;
  /** `neighbor X dont-capability-negotiate`: FRR's OPEN carries no capabilities at all (a plain RFC 4271 speaker). */
  noCapabilities?: boolean;
  /** Prefixes FRR originates with `network` (blackhole kernel routes make them pass import-check). */
  networks: string[];
  /** `neighbor X capability extended-nexthop`: FRR offers RFC 8950 (IPv4 routes with IPv6 next hops). */
  extendedNextHop?: boolean;
}

/** bgpd's configuration for one scenario. Timers 3/9 (keepalive/hold) so a short test sees several keepalives. */
export function frrConfig(o: FrrOptions): string {
  const n = o.neighbor;
  const af = (fam: 'ipv4' | 'ipv6') => {
    const nets = o.networks.filter((p) => p.includes(':') === (fam === 'ipv6')).map((p) => ` network ${p}`);
    const act = o.families.includes(fam) ? [` neighbor ${n} activate`] : [` no neighbor ${n} activate`];
    return [`address-family ${fam} unicast`, ...nets, ...act, 'exit-address-family'];
  };
  return [
    'hostname frr-lab',
    `router bgp 64512`,
    ` bgp router-id ${FRR_IP}`,
    ...(o.gracefulRestart ? [' bgp graceful-restart'] : []),
    ` neighbor ${n} remote-as 64512`,
    ` neighbor ${n} timers 3 9`,
    ` neighbor ${n} timers connect 2`,
    ...(o.noCapabilities ? [` neighbor ${n} dont-capability-negotiate`] : []),
    ...(o.extendedNextHop ? [` neighbor ${n} capability extended-nexthop`] : []),
    ...af('ipv4'),
    ...af('ipv6'),
    '',
  ].join('\n');
}

export class FrrLab {
  readonly scope: LabScope;
  frrNs!: Netns;
  weftNs!: Netns;
  zebra: BackgroundProcess | null = null;
  bgpd: BackgroundProcess | null = null;
  worker: BackgroundProcess | null = null;

  constructor(name: string) {
    this.scope = new LabScope(name);
  }

  /** Namespaces, veth, both families' addresses (no DAD wait), and the blackholes FRR originates from. */
  async setup(networks: string[]): Promise<void> {
    this.frrNs = await this.scope.netns('frr');
    this.weftNs = await this.scope.netns('weft');
    await this.scope.veth(this.frrNs, 'eth0', this.weftNs, 'eth0');
    await this.frrNs.ipBatch([`addr add ${FRR_IP}/24 dev eth0`, `addr add ${FRR_IP6}/64 dev eth0 nodad`]);
    await this.weftNs.ipBatch([`addr add ${WEFT_IP}/24 dev eth0`, `addr add ${WEFT_IP6}/64 dev eth0 nodad`]);
    await this.frrNs.ipBatch(networks.map((p) => `route add blackhole ${p}`));
  }

  /** FRR's own directory in the scope (config, PID files, sockets), owned by the `frr` user its daemons drop to. */
  private get dir(): string {
    return join(this.scope.dir, 'frr');
  }

  /** Writes the config, starts zebra then bgpd in FRR's namespace; resolves once bgpd answers vtysh. */
  async startFrr(o: FrrOptions): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const frr = (await run(['id', '-u', 'frr'])).stdout.trim();
    const frrGroup = (await run(['id', '-g', 'frr'])).stdout.trim();
    chownSync(this.dir, Number(frr), Number(frrGroup));
    const conf = join(this.dir, 'bgpd.conf');
    writeFileSync(conf, frrConfig(o));
    writeFileSync(join(this.dir, 'zebra.conf'), 'hostname frr-lab\n');
    const common = ['-z', join(this.dir, 'zserv.api'), '--vty_socket', this.dir, '-P', '0'];
    if (!this.zebra?.running) {
      const zargs = [
        '-f',
        join(this.dir, 'zebra.conf'),
        '-i',
        join(this.dir, 'zebra.pid'),
        ...common,
        '--log',
        `file:${join(this.dir, 'zebra-frr.log')}`,
      ];
      this.zebra = this.scope.spawn('zebra', this.frrNs, [`${FRR_DIR}/zebra`, ...zargs]);
      await waitFor(
        'zebra vty socket',
        async () => (await this.vtysh('zebra', 'show version')).includes('FRRouting'),
        15_000,
      );
    }
    const bargs = [
      '-f',
      conf,
      '-i',
      join(this.dir, 'bgpd.pid'),
      ...common,
      '--log',
      `file:${join(this.dir, 'bgpd-frr.log')}`,
    ];
    this.bgpd = this.scope.spawn('bgpd', this.frrNs, [`${FRR_DIR}/bgpd`, ...bargs]);
    await waitFor(
      'bgpd vty socket',
      async () => (await this.vtysh('bgpd', 'show version')).includes('FRRouting'),
      15_000,
    );
  }

  /** Stops bgpd (SIGTERM: FRR sends Cease to its neighbours). */
  async stopFrr(): Promise<void> {
    await this.bgpd?.stop(5000);
    this.bgpd = null;
  }

  /** Runs one vtysh command against one daemon of this lab; the output ('' when the daemon is not up). */
  async vtysh(daemon: 'bgpd' | 'zebra', cmd: string): Promise<string> {
    const r = await run(['vtysh', '--vty_socket', this.dir, '-d', daemon, '-c', cmd], {
      timeoutMs: 15_000,
      allowFailure: true,
    });
    return r.stdout;
  }

  /** A `show ... json` command, parsed; null when bgpd is not answering or the output is not JSON. */
  async json<T = any>(cmd: string): Promise<T | null> {
    try {
      return JSON.parse(await this.vtysh('bgpd', cmd)) as T;
    } catch {
      return null;
    }
  }

  /** Starts the weft worker in its namespace; resolves once its control socket answers. */
  async startWeft(cfg: Omit<WorkerConfig, 'control'>): Promise<void> {
    const full: WorkerConfig = { ...cfg, control: join(this.scope.dir, 'weft.sock') };
    this.worker = this.scope.spawn('weft', this.weftNs, [
      process.execPath,
      '--import',
      'tsx',
      WORKER,
      JSON.stringify(full),
    ]);
    await waitFor(
      'weft worker control socket',
      async () => (await this.weft({ cmd: 'count' }).catch(() => null)) !== null,
      20_000,
    );
  }

  async stopWeft(): Promise<void> {
    await this.worker?.stop(5000);
    this.worker = null;
  }

  weft<T = any>(req: Record<string, unknown>): Promise<T> {
    return workerRequest<T>(join(this.scope.dir, 'weft.sock'), req);
  }

  /** Kernel routes in FRR's namespace (what zebra installed), as `ip [-6] route` prints them. */
  async kernelRoutes(family: 4 | 6): Promise<string> {
    return (await this.frrNs.ip([`-${family}`, 'route', 'show', 'proto', 'bgp'])).stdout;
  }

  async cleanup(): Promise<void> {
    await this.scope.cleanup();
  }
}
