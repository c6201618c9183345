// The faults of issue 16, each one function over a running lease-mode lab (labUp with the etcd store), shared by
// the fault tests and the soak: an agent killed with SIGKILL and started again, etcd stopped for a while and
// restarted, etcd wiped and restored from a snapshot, and a node whose agent stays away past its lease TTL.
// Each returns once the fault is over and the agent or etcd it touched is back (not yet once everything has
// reconverged: callers wait for that with their own checks, and time it).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabNode } from '@weft/lab';
import { waitFor, type RunningLab } from 'weft/lab';
import { ETCD_URL, etcdctl, etcdGetPrefix, restartAgent, restartEtcd } from './agent-lab.ts';
import { labConsistency } from './faults.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PEER_URL = ETCD_URL.replace(':2379', ':2380');

/**
 * The lab's agents run as a production install runs them (issue 16 measures recovery that way): builds dist/
 * (`tsc -b tsconfig.build.json`, incremental) and sets WEFT_RUN=dist for every process spawned from here on, so
 * agent/bin/weft.mjs runs the compiled JavaScript with plain Node instead of loading the sources through tsx.
 */
export function runAgentsAsInstalled(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`tsc -b tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
  process.env.WEFT_RUN = 'dist';
}

/** SIGKILL to `node`'s agent (no cleanup runs), then the same argv again; resolves once it is ready. */
export async function killAndRestartAgent(run: RunningLab, node: LabNode, label: string): Promise<void> {
  const proc = run.agents.get(node.name)!;
  proc.child.kill('SIGKILL');
  await proc.exited;
  await restartAgent(run, node, label);
}

/** Stops etcd (SIGTERM, by PID), waits `downMs`, starts it again on the same data; resolves once healthy. */
export async function etcdOutage(run: RunningLab, downMs: number, label: string): Promise<void> {
  await run.etcd!.stop();
  await sleep(downMs);
  await restartEtcd(run, label);
}

/** `etcdctl snapshot save` of the lab's etcd into `file` (replacing an older one). */
export async function etcdSnapshot(run: RunningLab, file: string): Promise<void> {
  rmSync(file, { force: true });
  await etcdctl(run, ['snapshot', 'save', file]);
}

/**
 * Stops etcd, deletes its data directory, restores `snapshot` into a new one (`etcdctl snapshot restore`, same
 * member name and URLs as lab-up's) and starts etcd on it: the cluster's state goes back to the snapshot's.
 */
export async function etcdWipeAndRestore(run: RunningLab, snapshot: string, label: string): Promise<void> {
  const data = join(run.lab.scope.dir, 'etcd-data');
  await run.etcd!.stop();
  rmSync(data, { recursive: true, force: true });
  await etcdctl(run, [
    'snapshot',
    'restore',
    snapshot,
    '--data-dir',
    data,
    '--name',
    'lab',
    '--initial-cluster',
    `lab=${PEER_URL}`,
    '--initial-advertise-peer-urls',
    PEER_URL,
  ]);
  if (!existsSync(join(data, 'member'))) throw new Error(`etcdctl snapshot restore left no member in ${data}`);
  await restartEtcd(run, label);
}

/** Stops etcd, deletes its data and starts a new, empty member; then puts the network config back (only it). */
export async function etcdWipe(run: RunningLab, label: string): Promise<void> {
  const config = (await etcdctl(run, ['get', '--print-value-only', '/coreos.com/network/config'])).stdout.trim();
  await run.etcd!.stop();
  rmSync(join(run.lab.scope.dir, 'etcd-data'), { recursive: true, force: true });
  await restartEtcd(run, label);
  await etcdctl(run, ['put', '/coreos.com/network/config', config]);
}

/**
 * The node disappears for longer than its lease TTL: its agent is killed, and this waits until etcd has dropped
 * its subnet key (at most `maxGoneMs`); then the agent starts again. Resolves with the time the key took to go.
 */
export async function nodeGonePastTtl(
  run: RunningLab,
  node: LabNode,
  subnet: string,
  maxGoneMs: number,
  label: string,
  whileGone: () => Promise<void> = async () => {},
): Promise<number> {
  const key = `/coreos.com/network/subnets/${subnet.replace('/', '-')}`;
  const proc = run.agents.get(node.name)!;
  const t0 = Date.now();
  proc.child.kill('SIGKILL');
  await proc.exited;
  await waitFor(
    async () => !(await etcdGetPrefix(run, key)).some((kv) => kv.key === key),
    maxGoneMs,
    `etcd to expire ${key}`,
  );
  const expiredAfter = Date.now() - t0;
  await whileGone();
  await restartAgent(run, node, label);
  return expiredAfter;
}

/**
 * Waits until labConsistency reports nothing (polling, at most `timeoutMs`); resolves with the milliseconds it
 * took, or rejects listing the problems still seen.
 */
export async function waitConsistent(
  run: RunningLab,
  timeoutMs: number,
  extra: Record<string, string> = {},
): Promise<number> {
  const t0 = Date.now();
  let problems: string[] = [];
  try {
    await waitFor(
      async () => (problems = await labConsistency(run, extra)).length === 0,
      timeoutMs,
      'a consistent lab',
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}:\n  ${problems.join('\n  ')}`);
  }
  return Date.now() - t0;
}
