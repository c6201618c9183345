// Checks the soak (soak.ts) makes around its faults, beyond labConsistency's leases and routes:
//   - every node's namespace holds, after each fault, the same routes, firewall rules and links as before the
//     first one, none twice: over dozens of restarts, a leftover or a duplicate added per restart would grow;
//   - before each fault, the labs are whole again: an agent, etcd or BIRD that a fault left dead (a restart that
//     failed) is started again, so one failure costs one row, not every row after it.
import type { LabNode } from '@weft/lab';
import { waitFor, type RunningLab } from 'weft/lab';
import { restartAgent, restartEtcd } from './agent-lab.ts';
import type { BgpLab } from './bgp-fault.ts';
import { waitConsistent } from './fault-inject.ts';
import { duplicateLines, netSnapshot, snapshotDiff, statusOf, type NetSnapshot } from './faults.ts';

/** Each node's routes, rules and links when the soak started; check() compares a lab's nodes against them. */
export class NetBaseline {
  private constructor(private readonly before: Map<LabNode, NetSnapshot>) {}

  static async take(nodes: readonly LabNode[]): Promise<NetBaseline> {
    const before = new Map<LabNode, NetSnapshot>();
    for (const n of nodes) before.set(n, await netSnapshot(n.ns));
    return new NetBaseline(before);
  }

  /**
   * Problems (empty when none) once `nodes` hold what they held at the start with nothing twice, waiting at most
   * `timeoutMs` for that (an agent reconciles its firewall every few seconds): a few diff lines per node.
   */
  async check(nodes: readonly LabNode[], timeoutMs = 20_000): Promise<string[]> {
    let problems: string[] = [];
    const look = async () => {
      problems = [];
      for (const n of nodes) {
        const now = await netSnapshot(n.ns);
        const dups = (['routes', 'rules', 'links'] as const).flatMap((p) => duplicateLines(now[p]));
        const diff = snapshotDiff(this.before.get(n)!, now);
        if (dups.length) problems.push(`${n.name}: twice: ${dups.slice(0, 3).join(' | ')}`);
        if (diff.length) problems.push(`${n.name}: unlike the start: ${diff.slice(0, 3).join(' | ')}`);
      }
      return problems.length === 0;
    };
    await waitFor(look, timeoutMs, 'routes, rules and links as at the start').catch(() => {});
    return problems;
  }
}

/**
 * Waits (at most `timeoutMs`) until no agent of `others` routes `subnet` any more; resolves with the
 * milliseconds since `since`, or rejects naming the agents that still do.
 */
export async function routeDropped(
  others: readonly LabNode[],
  subnet: string,
  since: number,
  timeoutMs = 30_000,
): Promise<number> {
  let still: string[] = [];
  const gone = async () => {
    still = [];
    for (const n of others)
      if ((await statusOf(n))?.routes.some((r) => r.subnet === subnet) !== false) still.push(n.name);
    return still.length === 0;
  };
  await waitFor(gone, timeoutMs, `every other agent to drop ${subnet}`).catch(() => {
    throw new Error(`still routing ${subnet} (or not answering) ${timeoutMs / 1000} s on: ${still.join(', ')}`);
  });
  return Date.now() - since;
}

/**
 * Starts again whatever of the two labs is not running (etcd, an agent, BIRD) and waits until the lease lab is
 * consistent; resolves with what it did (empty when all was running). Rejects when the labs cannot be repaired.
 */
export async function repairLabs(run: RunningLab, bgp: BgpLab, tag: string): Promise<string[]> {
  const done: string[] = [];
  if (!run.etcd?.running) {
    await restartEtcd(run, `etcd-repair-${tag}`);
    done.push('etcd started again');
  }
  for (const [lab, prefix] of [
    [run, ''],
    [bgp.run, 'bgp-'],
  ] as const)
    for (const node of lab.lab.nodes) {
      if (lab.agents.get(node.name)?.running) continue;
      await restartAgent(lab, node, `agent-${prefix}${node.name}-repair-${tag}`);
      done.push(`agent ${prefix}${node.name} started again`);
    }
  if (!bgp.bird.alive()) {
    await bgp.bird.startBird(true);
    done.push('BIRD started again');
  }
  if (done.length) await waitConsistent(run, 60_000);
  return done;
}
