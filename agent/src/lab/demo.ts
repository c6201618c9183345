// The main job (`npm run lab`): a three-node lab on the embedded store with the vxlan backend, its leases and
// routes shown, pings and a short iperf3 between pods on different nodes, the result printed, the lab torn down.
//   npm run lab -- [--backend udp|vxlan|native] [--route-sync lease|bgp] [--nodes N] [--seconds S]
//                  [--dual-stack | --ipv6-only]   (pods with both families, or IPv6 only; IPv6 pings are added)
import { parseArgs } from 'node:util';
import { labUp, httpGetIn, METRICS_PORT, type BackendType, type RouteSync, type RunningLab } from './lab-up.ts';
import { labFamilies } from './lab-cli.ts';
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
    const v6 = s?.ipv6 ? ` and ${s.ipv6.subnet} (IPv6 ${s.ipv6.forwarded ? 'forwarded' : 'NOT forwarded'})` : '';
    const ul = node.underlayIp6 ? `${node.underlayIp}, ${node.underlayIp6}` : node.underlayIp;
    say(
      `\n== ${node.name} (underlay ${ul}): lease ${s?.lease ? (s.lease.subnet ?? 'no IPv4 subnet') : node.subnet}${v6}${mac}, MTU ${s?.mtu ?? '?'}`,
    );
    for (const r of s?.routes ?? [])
      say(
        `   ${s!.backend === 'native' ? 'kernel route' : 'forwarding table'}: ${r.subnet} -> ${r.via}${r.vtepMac ? ` (VTEP ${r.vtepMac})` : ''}`,
      );
    const routes = await node.ns.ip(['route', 'show']);
    say(routes.stdout.trimEnd().replace(/^/gm, '   ip route: '));
    if (node.underlayIp6) {
      const routes6 = await node.ns.ip(['-6', 'route', 'show']);
      say(routes6.stdout.trimEnd().replace(/^/gm, '   ip -6 route: '));
    }
  }
}

async function ping(from: LabPod, toIp: string): Promise<Result['ping']> {
  const r = await from.ns.exec(['ping', '-c', '5', '-i', '0.2', '-W', '2', toIp], { allowFailure: true });
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return { sent: Number(counts?.[1] ?? 5), received: Number(counts?.[2] ?? 0), avgMs: Number(avg?.[1] ?? NaN) };
}

async function iperf(run: RunningLab, from: LabPod, to: LabPod, seconds: number, toIp = to.ip): Promise<number> {
  const server = run.lab.scope.spawn(`iperf3-${to.name}${toIp === to.ip ? '' : '-v6'}`, to.ns, [
    'iperf3',
    '-s',
    '-1',
    '-B',
    toIp,
  ]);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const r = await from.ns.exec(['iperf3', '-c', toIp, '-t', String(seconds), '-J'], {
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
      'dual-stack': { type: 'boolean', default: false },
      'ipv6-only': { type: 'boolean', default: false },
    },
  });
  const families = labFamilies({ dualStack: values['dual-stack'], ipv6Only: values['ipv6-only'] });
  const name = `demo${process.pid % 10000}`;
  const fam = families === 'ipv4' ? '' : `, ${families}`;
  say(
    `weft lab: ${values.nodes} nodes, backend ${values.backend}, route sync ${values['route-sync']}, embedded store${fam}`,
  );
  const run = await labUp(
    {
      name,
      nodes: Number(values.nodes),
      pods: 1,
      backend: values.backend as BackendType,
      routeSync: values['route-sync'] as RouteSync,
      store: 'embedded',
      ...(families !== 'ipv4' ? { families } : {}),
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
      results.push({ from: `${from.name} ${from.ip}`, to: `${to.name} ${to.ip}`, ping: await ping(from, to.ip) });
    }
    // Dual stack: the same ring over IPv6 (in IPv6 only, pod.ip is already the IPv6 address).
    for (let i = 0; families === 'dual-stack' && i < pods.length; i++) {
      const from = pods[i]!;
      const to = pods[(i + 1) % pods.length]!;
      if (from.ip6 && to.ip6)
        results.push({ from: `${from.name} ${from.ip6}`, to: `${to.name} ${to.ip6}`, ping: await ping(from, to.ip6) });
    }
    results[0]!.tcpGbps = await iperf(run, pods[0]!, pods[1]!, Number(values.seconds));
    const first6 = results[pods.length]; // dual stack: the IPv6 ring follows the IPv4 one
    if (first6 && pods[1]!.ip6)
      first6.tcpGbps = await iperf(run, pods[0]!, pods[1]!, Number(values.seconds), pods[1]!.ip6);
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
