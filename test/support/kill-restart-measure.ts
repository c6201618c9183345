// Where the time goes when an agent is killed with SIGKILL under traffic and started again at once (issue 16):
// kill -> the new process's first log line -> each start step -> ready -> the first ping answered across the
// restarted node. Run: `node --import tsx test/support/kill-restart-measure.ts [--runs N]`; WEFT_RUN=dist runs the
// agents compiled, as installed. Prints one table row per run, milliseconds after the kill.
import type { LabPod } from '@weft/lab';
import { labUp, waitFor } from 'weft/lab';
import { PingProbe } from './faults.ts';
import { killAndRestartAgent } from './fault-inject.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const verbose = process.argv.includes('-v');
const run = await labUp({
  name: 'kr-kill',
  nodes: 3,
  pods: 1,
  backend: 'vxlan',
  routeSync: 'lease',
  store: 'etcd',
  persistent: false,
  agentArgs: ['--subnet-lease-ttl', '10'],
});
try {
  const scope = run.lab.scope;
  const [a, b, c] = run.lab.nodes.map((n) => n.pods[0]!) as [LabPod, LabPod, LabPod];
  // Both flows cross n2 (the one killed): n1 -> n2 and n2 -> n3.
  const pings = [
    PingProbe.start(scope, a, b.ip, 'kr-ping-12', 600),
    PingProbe.start(scope, b, c.ip, 'kr-ping-23', 600),
  ];
  await waitFor(() => pings.every((p) => p.replies().length > 5), 20_000, 'pings to flow');
  const n2 = run.lab.node('n2');
  const rows: string[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    await killAndRestartAgent(run, n2, `kr-agent-n2-${i}`);
    const ready = Date.now() - t0;
    const log = run.agents.get('n2')!.log();
    const lines = [...log.matchAll(/"time":"([^"]+)".*?"msg":"([^"]+)"/g)].map((m) => ({
      at: Date.parse(m[1]!) - t0,
      msg: m[2]!,
    }));
    if (verbose) for (const l of lines) console.log(`  +${l.at} ms ${l.msg.slice(0, 100)}`);
    await waitFor(() => pings.every((p) => p.lastReplyAt() > t0 + ready), 30_000, 'pings after restart');
    const resumed = pings.map((p) => Math.round(p.resumedAfter(t0) ?? Number.NaN));
    const first = lines[0]?.at ?? NaN;
    const readyLog = lines.find((l) => l.msg === 'ready')?.at ?? NaN;
    rows.push(`| ${i + 1} | ${first} | ${readyLog} | ${ready} | ${Math.max(...resumed)} | ${resumed.join(' / ')} |`);
    await new Promise((r) => setTimeout(r, 3000));
  }
  console.log(`WEFT_RUN=${process.env.WEFT_RUN ?? '(tsx)'}; ms after the kill`);
  console.log('| run | first log line | "ready" logged | /readyz answered | pings resumed (max) | per flow |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await run.lab.teardown();
}
