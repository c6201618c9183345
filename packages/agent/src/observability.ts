// Metrics, health and status over HTTP on --metrics-ip:--metrics-port (127.0.0.1 unless told otherwise: /status
// shows topology and leases):
//   /metrics  Prometheus text (prom-client): packets and bytes per direction, drops by reason (and, on the overlays,
//             the same split by IP family: weft_family_*), peers, lease expiry, store reachability, BGP sessions. Values are read from the dataplane's plain counters at
//             scrape time, so the packet path never calls into the metrics library.
//   /healthz  200 while the process runs.   /readyz  200 once routes are in place and subnet.env is written,
//             and 503 with the reason while the agent cannot route every peer (more than --max-peers).
//   /status   JSON: lease, peers, routes, counters (what `weft status` prints).
// flanneld's healthz server (--healthz-ip:--healthz-port, off by default) serves /healthz and /readyz only.
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { WEFT_VERSION } from './version.ts';
import type { LeaseStatus } from './dual-stack.ts';
import type { DropsByFamily } from './backends/family-stats.ts';

/** Timer of prom-client's event-loop delay histogram, whose series are dropped (see createMetrics), in ms. */
const LAG_SAMPLE_MS = 60_000;

/** What the agent reports; built on demand by the status source. */
export interface AgentStatus {
  node: string;
  backend: string;
  routeSync: 'lease' | 'bgp';
  mtu: number;
  /** The node's lease per enabled family (an IPv6-only node has no `subnet`, only `ipv6Subnet`). */
  lease: LeaseStatus | null;
  storeReachable: boolean;
  /** --max-peers and how many peers are routed (`admitted`) or left out for want of room (`waiting`). */
  peerLimit?: { limit: number; admitted: number; waiting: number };
  /** `direct`: vxlan DirectRouting's kernel route via the peer's underlay address, per family. */
  routes: { subnet: string; via: string; vtepMac?: string; direct?: boolean }[];
  /** Monotonic counters: tx_packets, tx_bytes, rx_packets, rx_bytes, ... */
  counters: Record<string, number>;
  drops: Record<string, number>;
  /** Overlay backends: `drops` split by family (the pod packet's, else the underlay's); the ports' own drops have none. */
  dropsByFamily?: DropsByFamily;
  /** Overlay backends: super-packets handed to the kernel whole (UDP-tunnel GSO through a TAP), or why not. */
  sendPath?: { superPackets: boolean; reason: string };
  /** EnableIPv6: the node's IPv6 lease and whether the backend forwards IPv6 pod traffic (not yet: `reason`). */
  ipv6?: { subnet: string; publicIp: string; forwarded: boolean; reason: string };
  bgp?: {
    address: string;
    as: number;
    state: string;
    uptimeSeconds: number;
    prefixesReceived: number;
    prefixesSent: number;
    lastError: string | null;
  }[];
}

export interface HttpHandle {
  readonly port: number;
  setReady(ready: boolean): void;
  /** /readyz answers 503 with the check's text whenever it returns one, even after setReady(true). */
  setReadyCheck(check: () => string | null): void;
  close(): Promise<void>;
}

/** A Prometheus counter that mirrors a monotonic number read at scrape time (per label value). */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Record<string, number>,
): void {
  mirroredLabelledCounter(registry, name, help, [label], () =>
    Object.entries(read()).map(([key, value]): [Record<string, string>, number] => [{ [label]: key }, value]),
  );
}

/**
 * A Prometheus counter over several labels mirroring monotonic numbers read at scrape time: `read` returns
 * [label values, value] pairs.
 */
function mirroredLabelledCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Record<string, string>, number][],
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = labelNames.map((l) => labels[l]).join('\0');
        const delta = value - (seen.get(key) ?? 0);
        if (delta > 0) this.inc(labels, delta);
        seen.set(key, value);
      }
    },
  });
}

const FAMILIES = ['ipv4', 'ipv6'] as const;

/** weft_family_* series from /status: pod packets or bytes by direction and family, drops by reason and family. */
function familyMetrics(registry: Registry, status: () => AgentStatus): void {
  const byFamily = (what: 'packets' | 'bytes') => (): [Record<string, string>, number][] => {
    const c = status().counters;
    const out: [Record<string, string>, number][] = [];
    for (const family of FAMILIES)
      for (const direction of ['tx', 'rx'])
        if (c[`${direction}_${what}_${family}`] !== undefined)
          out.push([{ direction, family }, c[`${direction}_${what}_${family}`]!]);
    return out;
  };
  mirroredLabelledCounter(
    registry,
    'weft_family_packets_total',
    'Pod packets forwarded by the overlay, by direction and IP family of the pod packet (sums to weft_packets_total but for write errors)',
    ['direction', 'family'],
    byFamily('packets'),
  );
  mirroredLabelledCounter(
    registry,
    'weft_family_bytes_total',
    'Bytes of the pod packets (inner IP packets) forwarded by the overlay, by direction and IP family',
    ['direction', 'family'],
    byFamily('bytes'),
  );
  mirroredLabelledCounter(
    registry,
    'weft_family_dropped_packets_total',
    "Packets dropped by the overlay, by reason and IP family (the pod packet's, else the underlay's); the ports' own drops are in weft_dropped_packets_total only",
    ['reason', 'family'],
    () => {
      const d = status().dropsByFamily;
      if (!d) return [];
      return FAMILIES.flatMap((family) =>
        Object.entries(d[family]).map(([reason, v]): [Record<string, string>, number] => [{ reason, family }, v]),
      );
    },
  );
}

/** Packets, bytes and drops from /status: the totals by direction or reason, and the same by family. */
function trafficMetrics(registry: Registry, status: () => AgentStatus): void {
  const counters = () => status().counters;
  const pick = (a: string, b: string) => () => {
    const c = counters();
    return { tx: c[a] ?? 0, rx: c[b] ?? 0 };
  };
  mirroredCounter(
    registry,
    'weft_packets_total',
    'Packets forwarded by the dataplane, by direction (tx: pod to wire)',
    'direction',
    pick('tx_packets', 'rx_packets'),
  );
  mirroredCounter(
    registry,
    'weft_bytes_total',
    'Bytes read for forwarding, by direction',
    'direction',
    pick('tx_bytes', 'rx_bytes'),
  );
  mirroredCounter(registry, 'weft_dropped_packets_total', 'Packets dropped, by reason', 'reason', () => status().drops);
  familyMetrics(registry, status);
}

/**
 * weft_nodejs_eventloop_active_seconds_total: time the event loop spent running callbacks (Node's
 * eventLoopUtilization, read at scrape time, no timer); rate() of it is the loop's busy fraction.
 */
function eventLoopActivity(registry: Registry): void {
  let counted = 0;
  new Counter({
    name: 'weft_nodejs_eventloop_active_seconds_total',
    help: 'Seconds the event loop spent running callbacks (rate() is its utilization)',
    registers: [registry],
    collect() {
      const active = performance.eventLoopUtilization().active / 1000;
      if (active > counted) this.inc(active - counted);
      counted = Math.max(counted, active);
    },
  });
}

/** The registry with every weft metric, fed by `status()` at scrape time. */
export function createMetrics(fresh: () => AgentStatus): Registry {
  const status = oncePerTurn(fresh);
  const registry = new Registry();
  // prom-client's names already start with process_/nodejs_: the prefix is only `weft_`.
  // prom-client's event-loop delay histogram samples on a timer of LAG_SAMPLE_MS and records each interval
  // whole, so its min/mean/percentiles read that interval plus the delay (2 s read as 2.0006 s): misleading at
  // any interval cheap enough for an idle agent (the 10 ms default woke it 100 times a second). Its timer (it
  // cannot be turned off) runs once a minute and those series are dropped; weft_nodejs_eventloop_lag_seconds
  // (one setImmediate at scrape time) and weft_nodejs_eventloop_active_seconds_total tell the loop's delay and
  // busy time instead.
  collectDefaultMetrics({ register: registry, prefix: 'weft_', eventLoopMonitoringPrecision: LAG_SAMPLE_MS });
  for (const series of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) {
    registry.removeSingleMetric(`weft_nodejs_eventloop_lag_${series}_seconds`);
  }
  eventLoopActivity(registry);
  new Gauge({
    name: 'weft_build_info',
    help: 'Always 1; the labels say which weft and Node run',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version: WEFT_VERSION, node_version: process.version }, 1);
  trafficMetrics(registry, status);
  const gauge = (name: string, help: string, value: (s: AgentStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(status()));
      },
    });
  gauge('weft_peers', 'Peer subnets in the forwarding table or kernel routes', (s) => s.routes.length);
  gauge(
    'weft_lease_expiry_timestamp_seconds',
    'When our subnet lease expires unless renewed',
    (s) => (s.lease?.expiresAt ?? 0) / 1000,
  );
  gauge('weft_peer_limit', 'The most peers routed (--max-peers, or the default)', (s) => s.peerLimit?.limit ?? 0);
  gauge(
    'weft_peers_waiting',
    'Peers known but not routed because of --max-peers (not ready while above 0)',
    (s) => s.peerLimit?.waiting ?? 0,
  );
  gauge('weft_store_reachable', '1 when the lease store answers', (s) => (s.storeReachable ? 1 : 0));
  gauge('weft_mtu_bytes', 'MTU pods must use (FLANNEL_MTU)', (s) => s.mtu);
  new Gauge({
    name: 'weft_bgp_session_established',
    help: '1 when the BGP session with the peer is Established',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of status().bgp ?? []) this.set({ peer: p.address }, p.state === 'Established' ? 1 : 0);
    },
  });
  return registry;
}

/**
 * `read` memoised until the event loop's next turn: one scrape collects every gauge from one status, which at
 * thousands of peers is worth building once, not once per metric.
 */
function oncePerTurn<T>(read: () => T): () => T {
  let cached: { value: T } | null = null;
  return () => {
    if (cached) return cached.value;
    cached = { value: read() };
    setImmediate(() => {
      cached = null;
    });
    return cached.value;
  };
}

/** The /readyz state of one server: setReady from the agent's start and stop, plus an optional live check. */
function readiness(): {
  answer(): [number, string];
  setReady(r: boolean): void;
  setReadyCheck(c: () => string | null): void;
} {
  let ready = false;
  let check: () => string | null = () => null;
  return {
    answer() {
      if (!ready) return [503, 'not ready\n'];
      const problem = check();
      return problem === null ? [200, 'ready\n'] : [503, `not ready: ${problem}\n`];
    },
    setReady: (r) => void (ready = r),
    setReadyCheck: (c) => void (check = c),
  };
}

/**
 * Serves /metrics, /healthz, /readyz and /status on `host`:`port` (all addresses when `host` is omitted; the
 * agent passes --metrics-ip, 127.0.0.1 by default). Port 0 disables (returns a no-op handle).
 */
export async function startObservability(
  port: number,
  status: () => AgentStatus,
  log: Logger,
  host?: string,
): Promise<HttpHandle> {
  const state = readiness();
  const { setReady, setReadyCheck } = state;
  if (port === 0) return { port, setReady, setReadyCheck, close: async () => {} };
  const registry = createMetrics(status);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') return reply(...state.answer());
    if (path === '/status') return reply(200, JSON.stringify(status(), null, 2) + '\n', 'application/json');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (e: Error) => reply(500, `${e.message}\n`),
      );
      return;
    }
    reply(404, 'try /metrics, /healthz, /readyz or /status\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  log.info({ port }, `metrics and health on http://${host ?? '0.0.0.0'}:${port}`);
  return {
    port,
    setReady,
    setReadyCheck,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * flanneld's healthz server: /healthz (200 while running) and /readyz (200 once ready) on `host`:`port`, nothing
 * else. Port 0 disables (a no-op handle). Rejects when the address cannot be bound.
 */
export async function startHealthz(port: number, host: string, log: Logger): Promise<HttpHandle> {
  const state = readiness();
  const { setReady, setReadyCheck } = state;
  if (port === 0) return { port, setReady, setReadyCheck, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const [code, body] =
      path === '/healthz' ? [200, 'ok\n'] : path === '/readyz' ? state.answer() : [404, 'try /healthz or /readyz\n'];
    res.writeHead(code as number, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  log.info({ port }, `healthz on http://${host}:${port}`);
  return {
    port,
    setReady,
    setReadyCheck,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
