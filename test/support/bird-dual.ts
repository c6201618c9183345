// A BIRD 2 router on a dual-stack lab's underlay (192.0.2.100 and 2001:db8::100 on br0) with two iBGP sessions
// per lab node: one over IPv4 that offers IPv4 unicast only (so the agent's session negotiates IPv4 alone, as a
// plain IPv4 router's would) and one over IPv6 that offers IPv6 unicast only. It announces a blackholed prefix
// of each family (198.51.100.0/24, 2001:db8:100::/64) with itself as next hop and imports what the agents say.
// Short timers (hold 9 s, keepalive 3 s) so a test sees several keepalives pass in seconds. BIRD daemonizes; it
// is signalled only through its own PID file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run as runCmd, type Netns } from '@weft/lab';
import type { RunningLab } from 'weft/lab';
import { BirdProcess } from './bird-process.ts';

export const BIRD4 = '192.0.2.100';
export const BIRD6 = '2001:db8::100';
export const BIRD_NET4 = '198.51.100.0/24';
export const BIRD_NET6 = '2001:db8:100::/64';

export class DualStackBird {
  private readonly daemon: BirdProcess;
  private readonly conf: string;

  private constructor(
    readonly run: RunningLab,
    readonly ns: Netns,
  ) {
    const dir = run.lab.scope.dir;
    this.daemon = new BirdProcess(join(dir, 'bird-dual.ctl'), join(dir, 'bird-dual.pid'), run.lab.scope);
    this.conf = join(dir, 'bird-dual.conf');
  }

  /** Builds BIRD's namespace on the lab's underlay bridge and starts BIRD (after labUp). */
  static async start(run: RunningLab): Promise<DualStackBird> {
    const { scope, underlay } = run.lab;
    const ns = await scope.netns('bird');
    await scope.veth(ns, 'eth0', underlay, 'bird');
    await underlay.ip(['link', 'set', 'bird', 'master', 'br0']);
    await ns.ipBatch([`addr add ${BIRD4}/24 dev eth0`, `addr add ${BIRD6}/64 dev eth0 nodad`]);
    const bird = new DualStackBird(run, ns);
    writeFileSync(bird.conf, bird.config());
    await runCmd(['bird', '-p', '-c', bird.conf]);
    await ns.exec(['bird', '-c', bird.conf, '-s', bird.daemon.ctl, '-P', bird.daemon.pidFile]);
    return bird;
  }

  private config(): string {
    const sessions = this.run.lab.nodes.map(
      (n) => `protocol bgp ${n.name}v4 from node {
  local ${BIRD4} as 64512; neighbor ${n.underlayIp} as 64512;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}
protocol bgp ${n.name}v6 from node {
  local ${BIRD6} as 64512; neighbor ${n.underlayIp6} as 64512;
  ipv6 { import all; export where source = RTS_STATIC; next hop self; };
}`,
    );
    return `log "${join(this.run.lab.scope.dir, 'bird-dual.log')}" all;
router id ${BIRD4};
protocol device { scan time 10; }
protocol static own4 { ipv4; route ${BIRD_NET4} blackhole; }
protocol static own6 { ipv6; route ${BIRD_NET6} blackhole; }
template bgp node {
  direct;
  hold time 9; keepalive time 3;
  connect delay time 1; connect retry time 2; error wait time 1, 5;
}
${sessions.join('\n')}
`;
  }

  birdc(args: string[]): Promise<string> {
    return this.daemon.birdc(args);
  }

  /** The names of BIRD's BGP sessions that are Established. */
  async established(): Promise<string[]> {
    return [...(await this.birdc(['show', 'protocols'])).matchAll(/^(\S+)\s+BGP\s.*Established/gm)].map((m) => m[1]!);
  }

  /** The prefixes BIRD imported from one session, as `show route protocol NAME` prints them. */
  async routesFrom(protocol: string): Promise<string> {
    return this.birdc(['show', 'route', 'protocol', protocol]);
  }

  /** Stops BIRD by its PID (SIGTERM, then SIGKILL); for cleanup. */
  stop(): Promise<void> {
    return this.daemon.stop();
  }
}
