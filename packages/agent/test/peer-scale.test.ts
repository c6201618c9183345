// More peers than the old fixed table (4,096): one real agent (startAgent on in-memory ports and store) holds
// 5,000 and forwards to the last of them; --max-peers below the peer count makes it not ready (/readyz 503 with
// the reason, weft_peers_waiting in the metrics) and admits the waiting peers as others leave. The pure parts
// (the growing peer table, the limiter's order) are checked directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeIpv4Header, encodeUdpHeader } from '@weft/encap';
import { formatIpv4, parseIpv4, type Ipv4Prefix } from '@weft/netaddr';
import { ChannelNetwork } from '@weft/tunnel';
import { CaptureSide, MemoryLeaseStore, createLogger, startObservability } from './support/internals.ts';
import { startFakeNode, until } from './support/fake-node.ts';
import { PeerTable } from '../src/backends/peers.ts';
import { PeerLimiter } from '../src/backends/peer-limit.ts';
import type { PeerChange } from '../src/backends/types.ts';

const PEERS = 5000;
const HOUR = 3600_000;
const LAST_PEER_IP = '198.51.100.77';
/** 10.244.0.0/16 in /29s: 8,192 subnets. Peer i has the i-th; the agent asks for the last one. */
const peerSubnet = (i: number): Ipv4Prefix => ({ ip: (parseIpv4('10.244.0.0') + i * 8) >>> 0, prefixLen: 29 });
const AGENT_SUBNET = '10.244.255.248/29';
const METRICS_PORT = 27510;

async function storeWithPeers(): Promise<MemoryLeaseStore> {
  const store = new MemoryLeaseStore();
  await store.putConfig(JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 29, Backend: { Type: 'udp' } }));
  for (let i = 1; i <= PEERS; i++) {
    const publicIp = i === PEERS ? LAST_PEER_IP : `192.0.2.${1 + (i % 250)}`;
    await store.createLease(peerSubnet(i), { PublicIP: publicIp, BackendType: 'udp', NodeName: `n${i}` }, HOUR);
  }
  return store;
}

/** An IPv4/UDP packet from our pod to `dst`, as flannel0 would hand it over. */
function podPacket(dst: number): Uint8Array {
  const b = Buffer.alloc(36);
  const header = { dscp: 0, ecn: 0, totalLength: 36, identification: 1, flags: 2, fragmentOffset: 0, ttl: 64 };
  const ends = { protocol: 17, src: parseIpv4('10.244.255.250'), dst, options: Buffer.alloc(0) };
  encodeIpv4Header({ ...header, ...ends }, b, 0);
  encodeUdpHeader({ srcPort: 1000, dstPort: 2000, length: 16, checksum: 0 }, b, 20);
  return b;
}

test('the peer table grows past 4,096 and reuses freed indexes first', () => {
  const t = new PeerTable();
  for (let i = 0; i < 6000; i++) t.upsert(peerSubnet(i), '192.0.2.1');
  assert.is(t.size, 6000);
  assert.ok(t.capacity >= 6000);
  assert.ok(t.ownsSource(5999, peerSubnet(5999).ip + 3), 'index 5999 checks its own subnet');
  const freed = t.remove(peerSubnet(17))!;
  assert.is(t.upsert(peerSubnet(7000), '192.0.2.2').index, freed.index);
  assert.not.ok(t.ownsSource(6000, peerSubnet(6000).ip), 'an index never handed out owns nothing');
});

test('the limiter admits in arrival order and fills room left by removals', () => {
  const change = (type: 'added' | 'removed', i: number): PeerChange => ({
    type,
    subnet: peerSubnet(i),
    publicIp: '192.0.2.1',
  });
  const l = new PeerLimiter(2);
  const first = l.filter([change('added', 1), change('added', 2), change('added', 3), change('added', 4)]);
  assert.equal(
    first.map((c) => c.subnet.ip),
    [peerSubnet(1).ip, peerSubnet(2).ip],
  );
  assert.equal(l.state(), { limit: 2, admitted: 2, waiting: 2 });
  assert.equal(l.filter([change('removed', 4)]), [], 'a waiting peer leaves without touching the table');
  const next = l.filter([change('removed', 1)]);
  assert.equal(
    next.map((c) => `${c.type} ${formatIpv4(c.subnet.ip)}`),
    ['removed 10.244.0.8', 'added 10.244.0.24'],
  );
  assert.equal(l.state(), { limit: 2, admitted: 2, waiting: 0 });
});

test(`one agent holds ${PEERS} peers and forwards to the last one`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-peers-'));
  const node = await startFakeNode({
    name: 'a',
    publicIp: '192.0.2.254',
    subnet: AGENT_SUBNET,
    net: new ChannelNetwork(),
    store: await storeWithPeers(),
    dir,
  });
  try {
    await until(() => node.agent.status().routes.length === PEERS, `${PEERS} routes`, 30_000);
    const s = node.agent.status();
    assert.equal(s.peerLimit, { limit: 8191, admitted: PEERS, waiting: 0 });
    assert.is(node.agent.notReady(), null);
    node.tun.inject(podPacket(peerSubnet(PEERS).ip + 2));
    const last = parseIpv4(LAST_PEER_IP);
    await until(
      () => node.capture.records.some((r) => r.side === CaptureSide.Wire && r.peerAddress === last),
      `a datagram to peer ${PEERS} (${LAST_PEER_IP})`,
    );
  } finally {
    await node.agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--max-peers 4000 of 5000: not ready with the reason until 1,000 peers have left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-peers-'));
  const store = await storeWithPeers();
  const node = await startFakeNode({
    name: 'a',
    publicIp: '192.0.2.254',
    subnet: AGENT_SUBNET,
    net: new ChannelNetwork(),
    store,
    dir,
    args: ['--max-peers', '4000'],
  });
  const http = await startObservability(
    METRICS_PORT,
    () => node.agent.status(),
    createLogger({ level: 'silent' }),
    '127.0.0.1',
  );
  const get = (path: string) =>
    fetch(`http://127.0.0.1:${METRICS_PORT}${path}`).then(async (r) => ({ code: r.status, body: await r.text() }));
  try {
    http.setReady(true);
    http.setReadyCheck(node.agent.notReady);
    await until(() => node.agent.status().peerLimit?.waiting === 1000, '1,000 waiting peers', 30_000);
    assert.is(node.agent.status().routes.length, 4000, 'the table holds exactly the limit');
    const ready = await get('/readyz');
    assert.is(ready.code, 503);
    assert.match(ready.body, /not ready: 1000 peers left out: more than --max-peers=4000/);
    const metrics = (await get('/metrics')).body;
    assert.match(metrics, /^weft_peer_limit 4000$/m);
    assert.match(metrics, /^weft_peers_waiting 1000$/m);
    assert.match(metrics, /^weft_peers 4000$/m);
    for (let i = 1; i <= 1000; i++) await store.deleteLease(peerSubnet(i));
    await until(() => node.agent.status().peerLimit?.waiting === 0, 'every peer admitted', 30_000);
    const routes = new Set(node.agent.status().routes.map((r) => r.subnet));
    assert.is(routes.size, 4000);
    assert.ok(routes.has(`${formatIpv4(peerSubnet(PEERS).ip)}/29`), 'the last peer, once waiting, is routed');
    assert.not.ok(routes.has(`${formatIpv4(peerSubnet(1).ip)}/29`), 'a peer that left is gone');
    assert.is((await get('/readyz')).code, 200);
  } finally {
    await http.close();
    await node.agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
