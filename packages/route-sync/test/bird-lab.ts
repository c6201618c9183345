// A two-namespace lab for BIRD 2 interop: BIRD in one namespace (192.0.2.1), a weft speaker in the other
// (192.0.2.2, bird-worker.ts), one veth between them, iBGP AS 64512 as Calico runs it. BIRD daemonizes, so it
// is stopped only through its own PID file; the weft worker is a LabScope process. Used by test/bird.test.ts
// and by bench/bgp.bench.ts (which loads this file at run time).
import net from 'node:net';
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabScope, run, type Netns, type BackgroundProcess } from '@weft/lab';
import { waitFor } from './speaker-helpers.ts';
import type { WorkerConfig } from './bird-worker.ts';

export const BIRD_IP = '192.0.2.1';
export const WEFT_IP = '192.0.2.2';
export const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'bird-worker.ts');

export interface BirdOptions {
  /** Static routes BIRD originates (exported to weft), in protocol `s_main`. */
  routes: string[];
  /** More static routes in a second protocol, `s_extra`, that tests disable to withdraw them. */
  extra?: string[];
  /** `graceful restart on` (restart time 60 s) instead of BIRD's default "aware". */
  gracefulRestart?: boolean;
  holdTime?: number;
}

/** BIRD's configuration for one run. */
export function birdConfig(dir: string, o: BirdOptions): string {
  const statics = (name: string, rs: string[]) =>
    `protocol static ${name} {\n  ipv4;\n${rs.map((r) => `  route ${r} blackhole;`).join('\n')}\n}\n`;
  return `log "${dir}/bird.log" { info, remote, warning, error, auth, fatal, bug };
router id ${BIRD_IP};
protocol device { scan time 10; }
${statics('s_main', o.routes)}${statics('s_extra', o.extra ?? [])}
protocol bgp weft {
  local ${BIRD_IP} as 64512;
  neighbor ${WEFT_IP} as 64512;
  direct;
  hold time ${o.holdTime ?? 6};
  connect delay time 1; connect retry time 2; error wait time 1, 5;
  graceful restart ${o.gracefulRestart ? 'on' : 'aware'};
  graceful restart time 60;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}
`;
}

/** `count` consecutive /24s from 10.128.0.0 (10.128.0.0/24 ... ), for scale tests. */
export function manyPrefixes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.${128 + (i >> 8)}.${i & 255}.0/24`);
}

/** One JSON request to a weft worker (bird-worker.ts) over its control socket; rejects after 10 s. */
export function workerRequest<T = any>(path: string, req: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => (sock.destroy(), reject(new Error('weft control timeout'))), 10_000);
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (!buf.includes('\n')) return;
      clearTimeout(timer);
      sock.end();
      resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))) as T);
    });
    sock.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

export class BirdLab {
  readonly scope: LabScope;
  readonly ctl: string;
  private readonly pidFile: string;
  birdNs!: Netns;
  weftNs!: Netns;
  worker: BackgroundProcess | null = null;

  constructor(name: string) {
    this.scope = new LabScope(name);
    this.ctl = join(this.scope.dir, 'bird.ctl');
    this.pidFile = join(this.scope.dir, 'bird.pid');
  }

  /** Namespaces, veth and addresses. */
  async setup(): Promise<void> {
    this.birdNs = await this.scope.netns('bird');
    this.weftNs = await this.scope.netns('weft');
    await this.scope.veth(this.birdNs, 'eth0', this.weftNs, 'eth0');
    await this.birdNs.ip(['addr', 'add', `${BIRD_IP}/24`, 'dev', 'eth0']);
    await this.weftNs.ip(['addr', 'add', `${WEFT_IP}/24`, 'dev', 'eth0']);
  }

  /** Starts the weft worker; resolves once its control socket answers. */
  async startWeft(over: Partial<WorkerConfig> = {}): Promise<void> {
    const cfg: WorkerConfig = {
      routerId: WEFT_IP,
      listenAddress: WEFT_IP,
      holdTime: 6,
      peers: [{ address: BIRD_IP, as: 64512, localAddress: WEFT_IP }],
      control: join(this.scope.dir, 'weft.sock'),
      ...over,
    };
    this.worker = this.scope.spawn('weft', this.weftNs, [
      process.execPath,
      '--import',
      'tsx',
      WORKER,
      JSON.stringify(cfg),
    ]);
    await waitFor(
      'weft worker control socket',
      async () => (await this.weft({ cmd: 'count' }).catch(() => null)) !== null,
      20_000,
    );
  }

  /** One request to the weft worker. */
  weft<T = any>(req: Record<string, unknown>): Promise<T> {
    return workerRequest<T>(join(this.scope.dir, 'weft.sock'), req);
  }

  /** Writes the config and starts BIRD in its namespace (it daemonizes; `-R`: graceful restart recovery). */
  async startBird(o: BirdOptions, recovery = false): Promise<void> {
    const conf = join(this.scope.dir, 'bird.conf');
    writeFileSync(conf, birdConfig(this.scope.dir, o));
    await run(['bird', '-p', '-c', conf]);
    await this.birdNs.exec(['bird', '-c', conf, '-s', this.ctl, '-P', this.pidFile, ...(recovery ? ['-R'] : [])]);
  }

  async birdc(args: string[]): Promise<string> {
    return (await run(['birdc', '-s', this.ctl, ...args], { timeoutMs: 20_000, allowFailure: true })).stdout;
  }

  birdPid(): number {
    return existsSync(this.pidFile) ? Number(readFileSync(this.pidFile, 'utf8').trim()) : 0;
  }

  /** Signals BIRD by its PID file (the only process of ours that is not a LabScope child). */
  signalBird(sig: NodeJS.Signals): void {
    const pid = this.birdPid();
    if (pid > 0) process.kill(pid, sig);
  }

  /** Waits until the BIRD process from the PID file is gone (after `birdc down` or `graceful restart`). */
  async birdGone(): Promise<void> {
    const pid = this.birdPid();
    await waitFor(
      'bird exit',
      () => {
        try {
          return pid <= 0 || (process.kill(pid, 0), false);
        } catch {
          return true;
        }
      },
      15_000,
    );
    rmSync(this.pidFile, { force: true });
  }

  async cleanup(): Promise<void> {
    try {
      this.signalBird('SIGCONT');
      this.signalBird('SIGTERM');
      await this.birdGone();
    } catch {
      this.signalBird('SIGKILL');
    }
    await this.scope.cleanup();
  }
}
