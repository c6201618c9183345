// `weft status`: what the agent on this node holds: its lease, peers, routes, counters, BGP sessions.
// It asks the agent's own /status endpoint on loopback (run it in the node's network namespace).
import { DEFAULT_METRICS_PORT, cliProgram, parseCli, type AgentStatus } from '@weft/agent';

/** The lease line: each family's subnet and underlay address (an IPv6-only node has no IPv4 subnet). */
function leaseLine(l: NonNullable<AgentStatus['lease']>): string {
  const subnets = [l.subnet, l.ipv6Subnet].filter((x) => x !== undefined).join(' + ');
  const publics = [l.subnet !== undefined ? l.publicIp : undefined, l.publicIpv6 && `[${l.publicIpv6}]`];
  const macs = [l.vtepMac && `VTEP MAC ${l.vtepMac}`, l.vtepMacV6 && `IPv6 VTEP MAC ${l.vtepMacV6}`];
  const expires = l.expiresAt ? new Date(l.expiresAt).toISOString() : 'with the etcd lease';
  const only6 = l.subnet === undefined ? 'IPv6 only, ' : '';
  const attrs = [`public ${publics.filter(Boolean).join(' ') || l.publicIp}`, ...macs.filter(Boolean)].join(', ');
  return `lease ${subnets} (${only6}${attrs}), expires ${expires}`;
}

/** Per-family packets and bytes each way, when the backend counts them (the overlays). */
function familyLine(c: Record<string, number>): string | null {
  if (c.rx_packets_ipv6 === undefined) return null;
  const side = (f: string, d: string) => `${d} ${c[`${d}_packets_${f}`] ?? 0} (${c[`${d}_bytes_${f}`] ?? 0} B)`;
  return `by family: ${['ipv4', 'ipv6'].map((f) => `${f} ${side(f, 'tx')} ${side(f, 'rx')}`).join('; ')}`;
}

/** Drops with a non-zero count, each with its IPv6 share when there is one. */
function dropsLine(s: AgentStatus): string {
  const six = s.dropsByFamily?.ipv6 ?? {};
  const drops = Object.entries(s.drops).filter(([, v]) => v > 0);
  const text = drops.map(([k, v]) => `${k}=${v}${six[k] ? ` (ipv6 ${six[k]})` : ''}`);
  return `drops: ${text.length ? text.join(' ') : 'none'}`;
}

function render(s: AgentStatus): string {
  const lines = [
    `node ${s.node}: backend ${s.backend}, routes from ${s.routeSync}, MTU ${s.mtu}, store ${s.storeReachable ? 'reachable' : 'UNREACHABLE'}`,
    s.lease ? leaseLine(s.lease) : 'no lease',
  ];
  if (s.ipv6) lines.push(`ipv6: ${s.ipv6.forwarded ? 'forwarded' : 'NOT forwarded'}: ${s.ipv6.reason}`);
  lines.push(
    `routes (${s.routes.length}):`,
    ...s.routes.map(
      (r) => `  ${r.subnet} via ${r.via}${r.vtepMac ? ` (VTEP ${r.vtepMac})` : ''}${r.direct ? ' (direct)' : ''}`,
    ),
  );
  const counters = Object.entries(s.counters);
  if (counters.length) lines.push(`counters: ${counters.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const family = familyLine(s.counters);
  if (family) lines.push(family);
  lines.push(dropsLine(s));
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
    .option('--json', 'the status object as JSON (routes: subnet, via, vtepMac, direct)');
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
