// The main job (`npm run lab`): a three-node lab on the embedded store with the vxlan backend, its leases and
// routes shown, pings and a short iperf3 between pods on different nodes, the result printed, the lab torn down.
//   npm run lab -- [--backend udp|vxlan|native] [--route-sync lease|bgp] [--nodes N] [--seconds S]
import { parseArgs } from 'node:util';
import { labUp, httpGetIn, METRICS_PORT, type BackendType, type RouteSync, type RunningLab } from './lab-up.ts';
import type { LabPod } from '@weft/lab';
import type { AgentStatus } from '@weft/agent';

const say = (m: string) => console.log(m);

interface Result {
  from: string;
  to: string;
  ping: { sent: number; received: number; avgMs: number };
  tcpGbps?: number;
}

async function showControlPlane(run: RunningLab): Promise<void> {
  for (const node of run.lab.nodes) {
    const body = await httpGetIn(node.ns, `http://127.0.0.1:${METRICS_PORT}/status`);
    const s = body ? (JSON.parse(body) as AgentStatus) : null;
    const mac = s?.lease?.vtepMac ? `, VTEP MAC ${s.lease.vtepMac}` : '';
    say(
      `\n== ${node.name} (underlay ${node.underlayIp}): lease ${s?.lease?.subnet ?? node.subnet}${mac}, MTU ${s?.mtu ?? '?'}`,
    );
    for (const r of s?.routes ?? [])
      say(
        `   ${s!.backend === 'native' ? 'kernel route' : 'forwarding table'}: ${r.subnet} -> ${r.via}${r.vtepMac ? ` (VTEP ${r.vtepMac})` : ''}`,
      );
    const routes = await node.ns.ip(['route', 'show']);
    say(routes.stdout.trimEnd().replace(/^/gm, '   ip route: '));
  }
}

async function ping(from: LabPod, to: LabPod): Promise<Result['ping']> {
  const r = await from.ns.exec(['ping', '-c', '5', '-i', '0.2', '-W', '2', to.ip], { allowFailure: true });
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return { sent: Number(counts?.[1] ?? 5), received: Number(counts?.[2] ?? 0), avgMs: Number(avg?.[1] ?? NaN) };
}

async function iperf(run: RunningLab, from: LabPod, to: LabPod, seconds: number): Promise<number> {
  const server = run.lab.scope.spawn(`iperf3-${to.name}`, to.ns, ['iperf3', '-s', '-1', '-B', to.ip]);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const r = await from.ns.exec(['iperf3', '-c', to.ip, '-t', String(seconds), '-J'], {
      timeoutMs: (seconds + 20) * 1000,
    });
    return (
      (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received
        .bits_per_second / 1e9
    );
  } finally {
    await server.stop();
  }
}

export async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'vxlan' },
      'route-sync': { type: 'string', default: 'lease' },
      nodes: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '3' },
    },
  });
  const name = `demo${process.pid % 10000}`;
  say(`weft lab: ${values.nodes} nodes, backend ${values.backend}, route sync ${values['route-sync']}, embedded store`);
  const run = await labUp(
    {
      name,
      nodes: Number(values.nodes),
      pods: 1,
      backend: values.backend as BackendType,
      routeSync: values['route-sync'] as RouteSync,
      store: 'embedded',
    },
    (m) => say(`  ${m}`),
  );
  try {
    await showControlPlane(run);
    const pods = run.lab.nodes.map((n) => n.pods[0]!);
    const results: Result[] = [];
    for (let i = 0; i < pods.length; i++) {
      const from = pods[i]!;
      const to = pods[(i + 1) % pods.length]!;
      results.push({ from: `${from.name} ${from.ip}`, to: `${to.name} ${to.ip}`, ping: await ping(from, to) });
    }
    results[0]!.tcpGbps = await iperf(run, pods[0]!, pods[1]!, Number(values.seconds));
    say('\n== result: pod to pod across nodes');
    for (const r of results) {
      const tcp = r.tcpGbps !== undefined ? `, iperf3 TCP ${r.tcpGbps.toFixed(2)} Gbit/s` : '';
      say(
        `   ${r.from} -> ${r.to}: ping ${r.ping.received}/${r.ping.sent} received, avg ${r.ping.avgMs.toFixed(3)} ms${tcp}`,
      );
    }
    const ok = results.every((r) => r.ping.received > 0) && (results[0]!.tcpGbps ?? 0) > 0;
    say(ok ? "\nPASS: every pod reached the next node's pod" : '\nFAIL: some pods could not reach each other');
    return ok ? 0 : 1;
  } finally {
    say('\ntearing the lab down');
    await run.lab.teardown();
  }
}
