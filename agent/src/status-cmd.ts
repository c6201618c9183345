// `weft status`: what the agent on this node holds: its lease, peers, routes, counters, BGP sessions.
// It asks the agent's own /status endpoint on loopback (run it in the node's network namespace).
import { DEFAULT_METRICS_PORT, cliProgram, parseCli, type AgentStatus } from '@weft/agent';

function render(s: AgentStatus): string {
  const lines = [
    `node ${s.node}: backend ${s.backend}, routes from ${s.routeSync}, MTU ${s.mtu}, store ${s.storeReachable ? 'reachable' : 'UNREACHABLE'}`,
    s.lease
      ? `lease ${s.lease.subnet} (public ${s.lease.publicIp}${s.lease.vtepMac ? `, VTEP MAC ${s.lease.vtepMac}` : ''}), expires ${s.lease.expiresAt ? new Date(s.lease.expiresAt).toISOString() : 'with the etcd lease'}`
      : 'no lease',
    `routes (${s.routes.length}):`,
    ...s.routes.map((r) => `  ${r.subnet} via ${r.via}${r.vtepMac ? ` (VTEP ${r.vtepMac})` : ''}`),
  ];
  const counters = Object.entries(s.counters);
  if (counters.length) lines.push(`counters: ${counters.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const drops = Object.entries(s.drops).filter(([, v]) => v > 0);
  lines.push(`drops: ${drops.length ? drops.map(([k, v]) => `${k}=${v}`).join(' ') : 'none'}`);
  for (const p of s.bgp ?? []) {
    lines.push(
      `bgp ${p.address} AS${p.as} ${p.state}${p.state === 'Established' ? ` up ${p.uptimeSeconds}s` : ''}, ${p.prefixesReceived} received / ${p.prefixesSent} sent${p.lastError ? `, last error: ${p.lastError}` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}

function statusProgram() {
  return cliProgram(
    'status',
    'Asks the agent running in this network namespace (its /status endpoint on 127.0.0.1) for its lease, peers, routes, counters, drops and BGP sessions.',
  )
    .usage('[--metrics-port P] [--json]')
    .option('--metrics-port <P>', "the agent's --metrics-port", String(DEFAULT_METRICS_PORT))
    .option('--json', 'the status object as JSON (routes: subnet, via, vtepMac)');
}

export async function statusCommand(argv: string[]): Promise<number> {
  const parsed = parseCli(statusProgram(), argv);
  if (!parsed.ok) return parsed.code;
  const values = parsed.opts as { metricsPort: string; json?: boolean };
  if (!/^\d+$/.test(values.metricsPort) || Number(values.metricsPort) > 65535) {
    process.stderr.write(`weft status: --metrics-port: expected a port, got "${values.metricsPort}"\n`);
    return 2;
  }
  const port = Number(values.metricsPort);
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    process.stderr.write(
      `weft status: no agent answering on 127.0.0.1:${port} (${(e as Error).message}); is \`weft agent\` running in this namespace with --metrics-port ${port}?\n`,
    );
    return 1;
  }
  const s = (await res.json()) as AgentStatus;
  process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : render(s));
  return 0;
}
