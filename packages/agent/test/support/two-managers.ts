// The end-to-end check the secured etcd tests (TLS, password auth) share: two lease managers, as two agents would
// run them, on stores opened with the credentials under test. Assertions are uvu's.
import * as assert from 'uvu/assert';
import { LeaseManager, subnetKey, type Lease, type LeaseStore, type NetConfig } from './internals.ts';

/** Polls `cond` every 50 ms for up to `ms`; returns its last value. */
export async function waitFor(cond: () => boolean, ms = 30_000): Promise<boolean> {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

/**
 * Node a (192.0.2.1) leases a subnet, then node b (192.0.2.2) leases its own and watches: b must see exactly a's
 * lease added. Each manager gets a fresh store from `open`. Returns a's lease; both managers are stopped.
 */
export async function secondManagerSeesFirst(
  open: () => LeaseStore,
  config: NetConfig,
  backendType: string,
  ttlMs: number,
): Promise<Lease> {
  const ac = new AbortController();
  const mk = (node: string, ip: string) =>
    new LeaseManager({ store: open(), config, identity: { nodeName: node, publicIp: ip }, backendType, ttlMs });
  const a = await mk('a', '192.0.2.1').acquire(ac.signal);
  const b = mk('b', '192.0.2.2');
  await b.acquire(ac.signal);
  const seen: string[] = [];
  const running = b.run(
    { onEvents: (ev) => seen.push(...ev.map((e) => `${e.type} ${subnetKey(e.lease.subnet)}`)) },
    ac.signal,
  );
  assert.ok(await waitFor(() => seen.length > 0), 'b saw a lease');
  assert.equal(seen, [`added ${subnetKey(a.subnet)}`]);
  ac.abort();
  await running;
  return a;
}
