// A weft speaker in its own process, meant to run inside a lab namespace (`ip netns exec NS node ...`), driven
// over a unix socket (filesystem sockets cross namespaces): one JSON request per line, one JSON reply per line.
//   node --import tsx bird-worker.ts '<json WorkerConfig>'
// Requests: {"cmd":"status"} {"cmd":"routes"} {"cmd":"count"} {"cmd":"advertise","prefix":"10.0.0.0/24","nextHop":"..."}
//           {"cmd":"withdraw","prefix":"..."} {"cmd":"timing"} {"cmd":"sent"} (AFIs and message types weft sent)
import net from 'node:net';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  AttrType,
  LOCAL_SOURCE,
  MessageType,
  Speaker,
  TcpTransport,
  type BestChange,
  type Message,
  type PeerConfig,
  type Transport,
} from '../src/index.ts';

export interface WorkerConfig {
  routerId: string;
  listenAddress: string;
  port?: number;
  holdTime?: number;
  gracefulRestart?: { restartTime: number } | false;
  peers: PeerConfig[];
  control: string;
  /** Record when the Loc-RIB first holds this many routes (for the 10,000-prefix figure). */
  watchCount?: number;
  /** Routes to originate before the sessions start (a restarting speaker has its routes before End-of-RIB). */
  advertise?: { prefix: string; nextHop?: string }[];
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

// What weft put on the wire, by family: an UPDATE counts for each MP attribute's AFI, and for IPv4 when it uses
// the classic fields or is empty (IPv4 End-of-RIB); ROUTE-REFRESH by its AFI. Keys "update:1", "refresh:2".
const sent = new Map<string, number>();
function record(m: Message): void {
  const add = (k: string) => sent.set(k, (sent.get(k) ?? 0) + 1);
  if (m.type === MessageType.RouteRefresh) return void add(`refresh:${m.afi}`);
  if (m.type !== MessageType.Update) return;
  const mp = m.attributes.filter((a) => a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri);
  for (const a of mp) add(`update:${a.afi}`);
  if (mp.length === 0 || m.nlri.length || m.withdrawn.length) add('update:1');
}
function recording(t: Transport): Transport {
  const wrap = <C extends { send(m: Message): void }>(c: C): C => {
    const send = c.send.bind(c);
    c.send = (m: Message) => (record(m), send(m));
    return c;
  };
  return {
    listen: (accept) => t.listen((c) => accept(wrap(c))),
    connect: async (...a) => wrap(await t.connect(...a)),
    close: () => t.close(),
  };
}
const speaker = new Speaker({
  routerId: cfg.routerId,
  holdTime: cfg.holdTime ?? 90,
  gracefulRestart: cfg.gracefulRestart ?? { restartTime: 120 },
  backoff: { min: 0.5, max: 2 },
  connectRetryTime: 2,
  transport: recording(new TcpTransport({ listenAddress: cfg.listenAddress, port: cfg.port ?? 179 })),
});
for (const p of cfg.peers) speaker.addPeer(p);
for (const a of cfg.advertise ?? []) speaker.advertise(a.prefix, a.nextHop ? { nextHop: a.nextHop } : {});

let routeCount = 0;
let establishedAt = 0;
let reachedAt = 0;
let firstRouteAt = 0;
speaker.on('peer', (st: { state: string }) => {
  if (st.state === 'Established') (establishedAt = performance.now()), (reachedAt = 0), (firstRouteAt = 0);
});
// Counts learned best routes only (our own advertisements are not "learned").
const learned = (r: { source: { id: string } } | null) => (r && r.source.id !== LOCAL_SOURCE ? 1 : 0);
speaker.on('routes', (batch: BestChange[]) => {
  for (const c of batch) routeCount += learned(c.best) - learned(c.previous);
  if (!firstRouteAt && routeCount > 0) firstRouteAt = performance.now();
  if (cfg.watchCount && !reachedAt && routeCount >= cfg.watchCount) reachedAt = performance.now();
});

function handle(req: { cmd: string; prefix?: string; nextHop?: string; address?: string }): unknown {
  switch (req.cmd) {
    case 'status':
      return speaker.status();
    case 'routes':
      return [...speaker.routes()].map((r) => ({
        key: r.key,
        nextHop: r.nextHop,
        stale: r.stale === true,
        localPref: r.attrs.localPref,
      }));
    case 'sent':
      return Object.fromEntries(sent);
    case 'refresh':
      return speaker.refresh(req.address!);
    case 'count':
      return { routes: routeCount };
    case 'advertise':
      speaker.advertise(req.prefix!, req.nextHop ? { nextHop: req.nextHop } : {});
      return { ok: true };
    case 'withdraw':
      speaker.withdraw(req.prefix!);
      return { ok: true };
    case 'timing':
      return {
        establishedAt,
        reachedAt,
        firstRouteMs: firstRouteAt - establishedAt,
        ms: reachedAt && establishedAt ? reachedAt - establishedAt : null,
      };
    default:
      return { error: `unknown command ${req.cmd}` };
  }
}

rmSync(cfg.control, { force: true });
const control = net.createServer((sock) => {
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let reply: unknown;
      try {
        reply = handle(JSON.parse(line));
      } catch (e) {
        reply = { error: String(e) };
      }
      sock.write(JSON.stringify(reply) + '\n');
    }
  });
  sock.on('error', () => {});
});

async function main(): Promise<void> {
  await speaker.start();
  control.listen(cfg.control, () => console.log(JSON.stringify({ ready: true })));
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    control.close();
    void speaker.stop().finally(() => process.exit(0));
  });
}
void main();
