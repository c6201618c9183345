// Starts a real single-member etcd on loopback for a test, inside a LabScope (killed by PID on cleanup).
import { type BackgroundProcess, type LabScope } from '@weft/lab';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { etcdArgv } from './support/etcd-secure.ts';

/**
 * Starts etcd with its data in `scope.dir/<name>` and waits until it answers. `fresh` wipes data left by
 * an earlier run; a restart in the same test passes false to keep its data.
 */
export async function startEtcd(
  scope: LabScope,
  name: string,
  clientPort: number,
  peerPort: number,
  fresh = true,
): Promise<BackgroundProcess> {
  if (fresh) rmSync(join(scope.dir, name), { recursive: true, force: true });
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = scope.spawn(`${name}-${Date.now()}`, null, etcdArgv(name, join(scope.dir, name), client, peer));
  for (let i = 0; i < 100; i++) {
    if (!proc.running) throw new Error(`etcd exited early:\n${proc.log().slice(-2000)}`);
    const ok = await fetch(`${client}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return proc;
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`etcd did not become healthy on ${client}:\n${proc.log().slice(-2000)}`);
}
