// A BIRD 2 router as one more member of a lab's underlay (192.0.2.100 on br0), peering iBGP (AS 64512) with every
// lab node's agent and announcing a subnet of its own that sits behind it for real: a namespace with one address
// of 198.51.100.0/24, reached through BIRD's namespace, which routes back to each node's pod subnet statically.
// So forwarding to BIRD's subnet needs only the agents' kernel routes, never the BIRD process: what a graceful
// restart must preserve. BIRD daemonizes; it is signalled only through its own PID file.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run as runCmd, type LabPod, type Netns } from '@weft/lab';
import { waitFor, type RunningLab } from 'weft/lab';
import { BirdProcess } from './bird-process.ts';

export const BIRD_IP = '192.0.2.100';
export const BIRD_SUBNET = '198.51.100.0/24';

export class BirdPeer {
  private readonly daemon: BirdProcess;
  private readonly conf: string;

  private constructor(
    readonly run: RunningLab,
    readonly ns: Netns,
    /** The host behind BIRD (198.51.100.2). */
    readonly host: LabPod,
  ) {
    const dir = run.lab.scope.dir;
    this.daemon = new BirdProcess(join(dir, 'bird.ctl'), join(dir, 'bird.pid'), run.lab.scope);
    this.conf = join(dir, 'bird.conf');
  }

  /** Builds BIRD's namespace and the host behind it (after labUp: node subnets must be known) and starts BIRD. */
  static async start(run: RunningLab): Promise<BirdPeer> {
    const { scope, underlay, nodes } = run.lab;
    const ns = await scope.netns('bird');
    await scope.veth(ns, 'eth0', underlay, 'bird');
    await underlay.ip(['link', 'set', 'bird', 'master', 'br0']);
    const hostNs = await scope.netns('birdh');
    await scope.veth(hostNs, 'eth0', ns, 'host0');
    const routes = nodes.map((n) => `route add ${n.subnet} via ${n.underlayIp}`);
    await ns.ipBatch([`addr add ${BIRD_IP}/24 dev eth0`, 'addr add 198.51.100.1/24 dev host0', ...routes]);
    await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await hostNs.ipBatch(['addr add 198.51.100.2/24 dev eth0', 'route add default via 198.51.100.1']);
    const peer = new BirdPeer(run, ns, { name: 'birdh', ns: hostNs, ip: '198.51.100.2' });
    writeFileSync(peer.conf, peer.config());
    await runCmd(['bird', '-p', '-c', peer.conf]);
    await peer.startBird(false);
    return peer;
  }

  private config(): string {
    const neighbors = this.run.lab.nodes.map(
      (n) => `protocol bgp ${n.name} {
  local ${BIRD_IP} as 64512;
  neighbor ${n.underlayIp} as 64512;
  direct;
  connect delay time 1; connect retry time 2; error wait time 1, 5;
  graceful restart on;
  graceful restart time 120;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}`,
    );
    return `log "${join(this.run.lab.scope.dir, 'bird.log')}" { info, remote, warning, error, auth, fatal, bug };
router id ${BIRD_IP};
protocol device { scan time 10; }
protocol static own { ipv4; route ${BIRD_SUBNET} blackhole; }
${neighbors.join('\n')}
`;
  }

  /** Starts BIRD in its namespace (it daemonizes); `recovery` is `-R`, BIRD's graceful-restart recovery mode. */
  async startBird(recovery: boolean): Promise<void> {
    const { ctl, pidFile } = this.daemon;
    await this.ns.exec(['bird', '-c', this.conf, '-s', ctl, '-P', pidFile, ...(recovery ? ['-R'] : [])]);
  }

  birdc(args: string[]): Promise<string> {
    return this.daemon.birdc(args);
  }

  /** How many of BIRD's sessions (one per node) are Established. */
  async established(): Promise<number> {
    return [...(await this.birdc(['show', 'protocols'])).matchAll(/\sBGP\s.*Established/g)].length;
  }

  /** Whether the PID in BIRD's PID file is alive. */
  alive(): boolean {
    return this.daemon.alive();
  }

  /** BIRD's PID from its PID file, 0 when it is not running. */
  pid(): number {
    return this.daemon.pid();
  }

  /** `birdc graceful restart` (BIRD exits without a NOTIFICATION, forwarding state kept), then waits for it to go. */
  async gracefulStop(): Promise<void> {
    await this.birdc(['graceful', 'restart']);
    await waitFor(() => !this.daemon.alive(), 15_000, 'BIRD to exit for its graceful restart');
    rmSync(this.daemon.pidFile, { force: true });
  }

  /** Stops BIRD by its PID (SIGTERM, then SIGKILL); for cleanup. */
  stop(): Promise<void> {
    return this.daemon.stop();
  }
}
