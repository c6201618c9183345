// Lease continuity (flanneld reads its old subnet from subnet.env): an agent that was down past its lease TTL
// takes the same subnet back when it is still free; when it is not, it takes another and says loudly, as an
// error, that the node's pods must be restarted. Fake clocks: the memory store and a real SQLite file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import {
  LeaseManager,
  MemoryLeaseStore,
  SqliteLeaseStore,
  formatSubnetEnv,
  parseNetConfig,
  parseSubnetEnv,
  previousSubnetFromEnv,
  subnetEnvValues,
  subnetKey,
  type LeaseStore,
} from './support/internals.ts';

const config = parseNetConfig('{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.20.0"}');
const HOUR = 3600_000;
const never = new AbortController().signal;

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** A logger that keeps every line, by level. */
function recorder() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: unknown, msg?: string) => {
    lines.push(
      typeof fields === 'string'
        ? { level, msg: fields, fields: {} }
        : { level, msg: msg ?? '', fields: fields as Record<string, unknown> },
    );
  };
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

/** The subnet.env the last run wrote, read back the way the agent reads it at start. */
function previousFrom(subnet: string) {
  const text = formatSubnetEnv(subnetEnvValues(config, tryParseIpv4Prefix(subnet)!, 1450, false));
  return previousSubnetFromEnv(parseSubnetEnv(text));
}

function node(
  store: LeaseStore,
  now: () => number,
  previous: string | null,
  log = recorder().log,
  name = 'a',
  ip = '192.0.2.1',
) {
  // rng 0 would pick SubnetMin (10.244.1.0): every test's previous subnet is another one, so a match is no accident.
  return new LeaseManager({
    store,
    config,
    identity: { nodeName: name, publicIp: ip },
    backendType: 'udp',
    ttlMs: HOUR,
    now,
    rng: () => 0,
    previousSubnet: previous ? previousFrom(previous) : null,
    log,
  });
}

test('subnet.env round trip: FLANNEL_SUBNET 10.244.7.1/24 names 10.244.7.0/24', () => {
  assert.is(subnetKey(previousFrom('10.244.7.0/24')!), '10.244.7.0-24');
});

test('memory store: down past the TTL, the subnet still free: the same subnet again, said at info', async () => {
  const c = clock();
  const store = new MemoryLeaseStore({ now: c.now });
  await store.createLease(
    tryParseIpv4Prefix('10.244.7.0/24')!,
    { PublicIP: '192.0.2.1', BackendType: 'udp', NodeName: 'a' },
    HOUR,
  );
  c.advance(2 * HOUR); // the agent was down; its lease expired and went from the store
  assert.is((await store.listLeases()).leases.length, 0);
  const rec = recorder();
  const lease = await node(store, c.now, '10.244.7.0/24', rec.log).acquire(never);
  assert.is(subnetKey(lease.subnet), '10.244.7.0-24');
  assert.ok(rec.lines.some((l) => l.level === 'info' && /subnet of the last run back/.test(l.msg)));
  assert.not.ok(rec.lines.some((l) => l.level === 'error'));
});

test('memory store: the old subnet went to another node meanwhile: a new subnet and an error that pods must restart', async () => {
  const c = clock();
  const store = new MemoryLeaseStore({ now: c.now });
  await store.createLease(
    tryParseIpv4Prefix('10.244.7.0/24')!,
    { PublicIP: '192.0.2.1', BackendType: 'udp', NodeName: 'a' },
    HOUR,
  );
  c.advance(2 * HOUR);
  const b = await node(store, c.now, '10.244.7.0/24', recorder().log, 'b', '192.0.2.2').acquire(never); // b wins the free subnet 7 first
  assert.is(subnetKey(b.subnet), '10.244.7.0-24');
  const rec = recorder();
  const lease = await node(store, c.now, '10.244.7.0/24', rec.log).acquire(never);
  assert.is.not(subnetKey(lease.subnet), '10.244.7.0-24');
  const err = rec.lines.find((l) => l.level === 'error');
  assert.ok(err, 'an error line');
  assert.match(err!.msg, /pods on this node must be restarted/);
  assert.equal(err!.fields, { previous: '10.244.7.0/24', subnet: '10.244.1.0/24' });
});

test('memory store: an old subnet outside the range (the config changed) is not taken; error', async () => {
  const c = clock();
  const rec = recorder();
  const lease = await node(new MemoryLeaseStore({ now: c.now }), c.now, '10.244.99.0/24', rec.log).acquire(never);
  assert.is(subnetKey(lease.subnet), '10.244.1.0-24');
  assert.ok(rec.lines.some((l) => l.level === 'error' && /pods on this node must be restarted/.test(l.msg)));
});

test('memory store: no subnet.env (first start): no continuity line at all', async () => {
  const c = clock();
  const rec = recorder();
  await node(new MemoryLeaseStore({ now: c.now }), c.now, null, rec.log).acquire(never);
  assert.not.ok(rec.lines.some((l) => /last run|restarted/.test(l.msg)));
});

test('SQLite file (the embedded store): past the TTL across a close and reopen, the same subnet back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'h8-lease-'));
  const c = clock();
  try {
    const path = join(dir, 'leases.db');
    let store = new SqliteLeaseStore(path, { now: c.now, pollMs: 20 });
    await store.putConfig(JSON.stringify({ Network: '10.244.0.0/16' }));
    const first = await node(store, c.now, '10.244.12.0/24').acquire(never);
    assert.is(subnetKey(first.subnet), '10.244.12.0-24');
    await store.close(); // the agent stops; its lease stays in the file
    c.advance(HOUR + 1);
    store = new SqliteLeaseStore(path, { now: c.now, pollMs: 20 });
    assert.is((await store.listLeases()).leases.length, 0, 'expired lease swept');
    const rec = recorder();
    const again = await node(store, c.now, '10.244.12.0/24', rec.log).acquire(never);
    assert.is(subnetKey(again.subnet), '10.244.12.0-24');
    assert.not.ok(rec.lines.some((l) => l.level === 'error'));
    // Taken meanwhile by someone else: the same start gets another subnet and the error.
    await store.close();
    c.advance(HOUR + 1);
    store = new SqliteLeaseStore(path, { now: c.now, pollMs: 20 });
    await node(store, c.now, '10.244.12.0/24', recorder().log, 'b', '192.0.2.2').acquire(never);
    const rec2 = recorder();
    const moved = await node(store, c.now, '10.244.12.0/24', rec2.log).acquire(never);
    assert.is.not(subnetKey(moved.subnet), '10.244.12.0-24');
    assert.ok(rec2.lines.some((l) => l.level === 'error' && /must be restarted/.test(l.msg)));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
