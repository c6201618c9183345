// CNI start-up: a container's ADD+DEL through `weft` (one process start per call, as a runtime runs it) beside the
// same ADD+DEL sent to Debian's `bridge` directly with the configuration weft delegates. The difference is weft's
// own share of a container's attach and detach.   npm run bench:cni -- [--json FILE] [--quick]
// Cases, interleaved in each round so machine load falls on all alike (median of 50 rounds, 5 with --quick):
// - weft: the launcher `weft cni install` writes (node running the one-file CommonJS bundle): what a VM runs;
// - bridge-direct: /usr/lib/cni/bridge (and host-local below it) with weft's delegated configuration;
// - weft-share: weft minus bridge-direct, per round (the target: <= 100 ms);
// - weft-esm: the launcher running bin/weft.mjs on the compiled ES modules of dist/ (WEFT_RUN=dist), the form
//   before the bundle, and its share (weft-esm-share);
// - node-start: `node -e ''` twice (two process starts: the floor of any Node plugin's share).
// Every call runs in a lab node namespace through `ip netns exec`, the same for every case. Needs root.
// Two metrics per case: wall time, and CPU time (user + system of every process the call started, from this
// process's cutime/cstime in /proc/self/stat, 10 ms ticks): on a loaded machine wall time mostly measures the
// wait for a core, CPU time what the start-up costs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { delegateConfig, installCni, parseFlannelSubnetEnv, parseNetConf } from '@weft/cni';
import { parseBenchArgs, publish, row } from './lib/report.ts';

const { json, quick } = parseBenchArgs();
const ROUNDS = quick ? 5 : 50;
const STD = '/usr/lib/cni';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEFT = join(ROOT, 'agent', 'bin', 'weft.mjs');
const CASES = ['weft', 'bridge-direct', 'weft-share', 'weft-esm', 'weft-esm-share', 'node-start'];
const TICKS_PER_SECOND = 100; // USER_HZ: the unit of the times in /proc/<pid>/stat
const SUBNET_ENV =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.11.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

interface Cost {
  wall: number;
  cpu: number;
}

const sum = (a: Cost, b: Cost): Cost => ({ wall: a.wall + b.wall, cpu: a.cpu + b.cpu });

/** CPU milliseconds (user + system) of this process's waited-for descendants so far. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // after "pid (comm) " come the fields from 3 (state) on; cutime and cstime are fields 16 and 17
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

/** Runs argv inside `node` with `env` and `input`; its cost. Throws with the output on a non-zero exit. */
function measured(node: Netns, argv: string[], env: NodeJS.ProcessEnv, input = ''): Cost {
  const [t0, c0] = [performance.now(), childrenCpuMs()];
  const r = spawnSync('ip', ['netns', 'exec', node.name, ...argv], { input, env, encoding: 'utf8', timeout: 30_000 });
  const cost = { wall: performance.now() - t0, cpu: childrenCpuMs() - c0 };
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stdout}${r.stderr}`);
  return cost;
}

/** ADD then DEL of container `id` in `ctr` through the plugin executable `file`. */
function addDel(node: Netns, file: string, ctr: Netns, id: string, config: object, extraEnv: object): Cost {
  const env = {
    PATH: process.env.PATH,
    NODE_OPTIONS: '',
    ...extraEnv,
    CNI_CONTAINERID: id,
    CNI_NETNS: `/var/run/netns/${ctr.name}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: STD,
  };
  const input = JSON.stringify(config);
  return sum(
    measured(node, [file], { ...env, CNI_COMMAND: 'ADD' }, input),
    measured(node, [file], { ...env, CNI_COMMAND: 'DEL' }, input),
  );
}

const minus = (a: Cost, b: Cost): Cost => ({ wall: a.wall - b.wall, cpu: a.cpu - b.cpu });

function rounds(
  node: Netns,
  ctr: Netns,
  launchers: { weft: string; esm: string },
  weftConf: object,
  bridgeConf: object,
): Record<string, Cost[]> {
  const cases: Record<string, Cost[]> = Object.fromEntries(CASES.map((c) => [c, []]));
  const nodeEnv = { PATH: process.env.PATH, NODE_OPTIONS: '' };
  for (let i = 0; i < ROUNDS; i++) {
    const w = addDel(node, launchers.weft, ctr, `w${i}`, weftConf, {});
    const b = addDel(node, join(STD, 'bridge'), ctr, `b${i}`, bridgeConf, {});
    const e = addDel(node, launchers.esm, ctr, `e${i}`, weftConf, { WEFT_RUN: 'dist' });
    cases.weft!.push(w);
    cases['bridge-direct']!.push(b);
    cases['weft-share']!.push(minus(w, b));
    cases['weft-esm']!.push(e);
    cases['weft-esm-share']!.push(minus(e, b));
    cases['node-start']!.push(
      sum(measured(node, [process.execPath, '-e', ''], nodeEnv), measured(node, [process.execPath, '-e', ''], nodeEnv)),
    );
  }
  return cases;
}

/**
 * Compiles the ES module form (weft-esm): @weft/cni must build; the agent's shim (dist/cni-plugin.js) is rebuilt
 * with the agent when that compiles and must otherwise be no older than its source (others' work in progress).
 */
function buildProductionForm(): void {
  const tsc = (project: string) =>
    spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', project], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  const cni = tsc('packages/cni');
  if (cni.status !== 0) throw new Error(`tsc -b packages/cni failed:\n${cni.stdout}`);
  if (tsc('agent').status === 0) return;
  const [src, out] = [join(ROOT, 'agent/src/cni-plugin.ts'), join(ROOT, 'agent/dist/cni-plugin.js')];
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs)
    throw new Error(`${out} is missing or stale and the agent does not compile`);
  console.log('note: the agent does not compile (work in progress elsewhere); its dist/cni-plugin.js is current');
}

/** `weft cni install` as an operator runs it (it bundles the plugin); the launcher it wrote. */
function weftCniInstall(binDir: string, confDir: string): string {
  const r = spawnSync(process.execPath, [WEFT, 'cni', 'install', '--bin-dir', binDir, '--conf-dir', confDir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`weft cni install failed:\n${r.stdout}${r.stderr}`);
  return join(binDir, 'weft');
}

async function main(): Promise<void> {
  if (!canRunWith('bench:cni', [join(STD, 'bridge'), join(STD, 'host-local')])) return;
  buildProductionForm();
  const tmp = mkdtempSync(join(tmpdir(), 'h10-cni-bench-'));
  const scope = new LabScope('h10-cni-bench');
  try {
    const node = await scope.netns('node');
    const ctr = await scope.netns('c');
    const subnetFile = join(tmp, 'subnet.env');
    writeFileSync(subnetFile, SUBNET_ENV);
    const launchers = { weft: weftCniInstall(join(tmp, 'bin'), join(tmp, 'net.d')), esm: join(tmp, 'esm', 'weft') };
    installCni({ binDir: dirname(launchers.esm), confDir: join(tmp, 'esm'), node: process.execPath, weftScript: WEFT });
    const weftConf = {
      cniVersion: '1.0.0',
      name: 'h10bench',
      type: 'weft',
      subnetFile,
      dataDir: join(tmp, 'state'),
      ipam: { dataDir: join(tmp, 'ipam') },
    };
    const bridgeConf = delegateConfig(
      parseNetConf(JSON.stringify(weftConf)),
      parseFlannelSubnetEnv(SUBNET_ENV, subnetFile),
    );
    const cases = rounds(node, ctr, launchers, weftConf, bridgeConf);
    const r1 = (x: number) => Math.round(x * 10) / 10;
    const rows = Object.entries(cases).flatMap(([name, costs]) => {
      const what = name === 'node-start' ? 'two starts' : 'add+del';
      return [
        row(
          name,
          `${what} wall`,
          'ms',
          costs.map((c) => r1(c.wall)),
        ),
        row(
          name,
          `${what} cpu`,
          'ms',
          costs.map((c) => r1(c.cpu)),
        ),
      ];
    });
    publish('cni', rows, json);
  } finally {
    await scope.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
