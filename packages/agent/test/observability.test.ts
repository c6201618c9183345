// The metrics/health/status server, over real HTTP on a loopback port of our own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from 'node:http';
import pino from 'pino';
import { startObservability, type AgentStatus } from '../src/index.ts';

const PORT = 23799;
const base = `http://127.0.0.1:${PORT}`;

function sample(): AgentStatus {
  return {
    node: 'node-a',
    backend: 'vxlan',
    routeSync: 'lease',
    mtu: 1450,
    lease: {
      subnet: '10.244.1.0/24',
      publicIp: '192.0.2.1',
      expiresAt: 1_800_000_000_000,
      vtepMac: '0a:58:0a:f4:01:00',
    },
    storeReachable: true,
    routes: [{ subnet: '10.244.2.0/24', via: '192.0.2.2', vtepMac: '0a:58:0a:f4:02:00' }],
    counters: { tx_packets: 10, tx_bytes: 1000, rx_packets: 4, rx_bytes: 400 },
    drops: { no_route: 2 },
  };
}

/** The value of one sample line of Prometheus text (`name{labels} value`), or null when absent. */
function metric(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : null;
}

test('healthz, readyz flag, status JSON, metrics read at scrape time, 404', async () => {
  let status = sample();
  const http = await startObservability(PORT, () => status, pino({ level: 'silent' }), '127.0.0.1');
  try {
    assert.is((await fetch(`${base}/healthz`)).status, 200);
    assert.is((await fetch(`${base}/readyz`)).status, 503);
    http.setReady(true);
    assert.is((await fetch(`${base}/readyz`)).status, 200);
    assert.equal(await (await fetch(`${base}/status`)).json(), status);
    assert.is((await fetch(`${base}/nope`)).status, 404);

    let text = await (await fetch(`${base}/metrics`)).text();
    assert.is(metric(text, 'weft_packets_total{direction="tx"}'), 10);
    assert.is(metric(text, 'weft_bytes_total{direction="rx"}'), 400);
    assert.is(metric(text, 'weft_dropped_packets_total{reason="no_route"}'), 2);
    assert.is(metric(text, 'weft_peers'), 1);
    assert.is(metric(text, 'weft_store_reachable'), 1);
    assert.is(metric(text, 'weft_lease_expiry_timestamp_seconds'), 1_800_000_000);
    assert.match(text, /# TYPE weft_packets_total counter/);

    // The dataplane's plain counters move; the next scrape shows them, and counters never go down.
    status = {
      ...sample(),
      storeReachable: false,
      counters: { ...sample().counters, tx_packets: 25 },
      drops: { no_route: 2, bad_vni: 1 },
    };
    text = await (await fetch(`${base}/metrics`)).text();
    assert.is(metric(text, 'weft_packets_total{direction="tx"}'), 25);
    assert.is(metric(text, 'weft_dropped_packets_total{reason="bad_vni"}'), 1);
    assert.is(metric(text, 'weft_store_reachable'), 0);
  } finally {
    await http.close();
  }
});

/** GET /metrics on a connection of its own (fetch's pool may hold a socket the previous test's server closed). */
function scrape(): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${base}/metrics`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test('event-loop delay at scrape time, no histogram of timer intervals; busy time: a counter read at scrape time that grows by the work done between scrapes', async () => {
  const http = await startObservability(PORT, sample, pino({ level: 'silent' }), '127.0.0.1');
  try {
    const series = 'weft_nodejs_eventloop_active_seconds_total';
    const first = metric(await scrape(), series);
    const text = await scrape();
    assert.ok(first !== null && first > 0, `${series} present: ${first}`);
    // The histogram's series read its timer interval plus the delay, so they are left out; the scrape-time lag stays.
    assert.ok(metric(text, 'weft_nodejs_eventloop_lag_seconds') !== null);
    assert.not.match(text, /weft_nodejs_eventloop_lag_p99_seconds/);
    // Keep the loop busy for 200 ms of CPU in one callback, then scrape again.
    const until = performance.now() + 200;
    while (performance.now() < until) Math.sqrt(Math.random());
    const second = metric(await scrape(), series)!;
    assert.ok(second - first! >= 0.19, `grew by ${second - first!} s`);
  } finally {
    await http.close();
  }
});

test('port 0 disables the server but keeps a handle', async () => {
  const http = await startObservability(0, sample, pino({ level: 'silent' }));
  assert.is(http.port, 0);
  http.setReady(true);
  await http.close();
});

test.run();
