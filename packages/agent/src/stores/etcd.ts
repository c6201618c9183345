// LeaseStore on etcd v3, in flannel's key layout so a flannel operator recognises every key:
//   PREFIX/config                    net-conf.json
//   PREFIX/subnets/10.244.1.0-24     LeaseAttrs JSON, attached to an etcd lease whose TTL is the lease's life
// Claims are transactions "create revision of the key == 0 → put", so two nodes never both win a subnet.
// A renewal grants a fresh etcd lease, re-puts the key on it only if the key still exists, then revokes
// the old etcd lease (which no longer holds the key). Expiry is etcd's: it deletes the key, and watchers
// see a delete. Every unary call carries a deadline, so an unreachable etcd becomes StoreUnavailableError
// instead of a hang; a watch stream that drops ends the watch (the lease manager lists again).
import { Etcd3, type IEvent, type IKeyValue, type Watcher } from 'etcd3';
import type { Ipv4Prefix } from '@weft/netaddr';
import { parseSubnetKey, subnetKey } from '../subnet-key.ts';
import {
  LeaseNotFoundError,
  RevisionCompactedError,
  StoreUnavailableError,
  parseLeaseAttrs,
  type Lease,
  type LeaseAttrs,
  type LeaseBatch,
  type LeaseEvent,
  type LeaseSnapshot,
  type LeaseStore,
} from '../lease.ts';

export interface EtcdStoreOptions {
  /** `host:port` endpoints (plain http). */
  endpoints: readonly string[];
  /** Key prefix, default flannel's `/coreos.com/network`. */
  prefix?: string;
  /** Deadline of each unary call (default 5000 ms). */
  callTimeoutMs?: number;
}

export class EtcdLeaseStore implements LeaseStore {
  private readonly client: Etcd3;
  private readonly prefix: string;

  constructor(opts: EtcdStoreOptions) {
    this.prefix = opts.prefix ?? '/coreos.com/network';
    const timeout = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: opts.endpoints.map((e) => `http://${e}`),
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
  }

  private key(subnet: Ipv4Prefix): Buffer {
    return Buffer.from(`${this.prefix}/subnets/${subnetKey(subnet)}`);
  }

  async getConfig(): Promise<string | null> {
    const res = await call(() => this.client.kv.range({ key: Buffer.from(`${this.prefix}/config`) }));
    return res.kvs[0]?.value.toString() ?? null;
  }

  async putConfig(json: string): Promise<void> {
    await call(() => this.client.kv.put({ key: Buffer.from(`${this.prefix}/config`), value: Buffer.from(json) }));
  }

  async listLeases(): Promise<LeaseSnapshot> {
    const start = Buffer.from(`${this.prefix}/subnets/`);
    const res = await call(() => this.client.kv.range({ key: start, range_end: prefixEnd(start) }));
    const leases: Lease[] = [];
    for (const kv of res.kvs) {
      const lease = this.toLease(kv, await this.expiryOf(kv.lease));
      if (lease) leases.push(lease);
    }
    return { leases, revision: Number(res.header.revision) };
  }

  async createLease(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number): Promise<Lease | null> {
    const grant = await this.grant(ttlMs);
    const key = this.key(subnet);
    const res = await call(() =>
      this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(attrs)), lease: grant.id } }],
      }),
    );
    if (!res.succeeded) {
      await this.revoke(grant.id);
      return null;
    }
    return { subnet, attrs, expiresAt: grant.expiresAt };
  }

  async renewLease(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number): Promise<Lease> {
    const grant = await this.grant(ttlMs);
    const key = this.key(subnet);
    const res = await call(() =>
      this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Greater', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(attrs)), lease: grant.id, prev_kv: true } }],
      }),
    );
    if (!res.succeeded) {
      await this.revoke(grant.id);
      throw new LeaseNotFoundError(`no lease for ${subnetKey(subnet)}`);
    }
    const old = res.responses[0]?.response_put?.prev_kv?.lease;
    if (old && old !== '0' && old !== grant.id) await this.revoke(old);
    return { subnet, attrs, expiresAt: grant.expiresAt };
  }

  async deleteLease(subnet: Ipv4Prefix): Promise<boolean> {
    const res = await call(() => this.client.kv.deleteRange({ key: this.key(subnet), prev_kv: true }));
    const lease = res.prev_kvs[0]?.lease;
    if (lease && lease !== '0') await this.revoke(lease);
    return Number(res.deleted) > 0;
  }

  async watchLeases(afterRevision: number, onBatch: (b: LeaseBatch) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const watcher = this.client.watch().prefix(`${this.prefix}/subnets/`).startRevision(String(afterRevision + 1)).withPreviousKV().watcher();
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        const fail = (e: Error) => {
          signal.removeEventListener('abort', onAbort);
          reject(/compact/i.test(e.message) ? new RevisionCompactedError(e.message) : new StoreUnavailableError(`etcd watch: ${e.message}`, { cause: e }));
        };
        watcher.on('disconnected', fail);
        watcher.on('error', fail);
        watcher.on('data', (res) => {
          const events = res.events.map((e) => this.toEvent(e)).filter((e): e is LeaseEvent => e !== null);
          if (events.length > 0) onBatch({ revision: Number(res.header.revision), events });
        });
      });
    } finally {
      await cancel(watcher);
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private toEvent(e: IEvent): LeaseEvent | null {
    if (e.type === 'Put') {
      const lease = this.toLease(e.kv, 0);
      return lease && { type: 'added', lease };
    }
    const lease = e.prev_kv ? this.toLease(e.prev_kv, 0) : null;
    const subnet = parseSubnetKey(e.kv.key.toString().slice(`${this.prefix}/subnets/`.length));
    if (lease) return { type: 'removed', lease };
    return subnet && { type: 'removed', lease: { subnet, attrs: { PublicIP: '0.0.0.0', BackendType: '' }, expiresAt: 0 } };
  }

  private toLease(kv: IKeyValue, expiresAt: number): Lease | null {
    const subnet = parseSubnetKey(kv.key.toString().slice(`${this.prefix}/subnets/`.length));
    const attrs = parseLeaseAttrs(kv.value.toString());
    return subnet && attrs ? { subnet, attrs, expiresAt } : null;
  }

  private async grant(ttlMs: number): Promise<{ id: string; expiresAt: number }> {
    const res = await call(() => this.client.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlMs / 1000)) }));
    if (res.error) throw new StoreUnavailableError(`etcd lease grant: ${res.error}`);
    return { id: res.ID, expiresAt: Date.now() + Number(res.TTL) * 1000 };
  }

  private async revoke(id: string): Promise<void> {
    // Best effort: an unrevoked etcd lease with no keys just runs out.
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
  }

  private async expiryOf(id: string): Promise<number> {
    if (!id || id === '0') return 0;
    const res = await call(() => this.client.leaseClient.leaseTimeToLive({ ID: id }));
    return Number(res.TTL) > 0 ? Date.now() + Number(res.TTL) * 1000 : 0;
  }
}

/** The key just past every key that starts with `prefix` (etcd's range_end for a prefix scan). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new StoreUnavailableError(`etcd: ${(e as Error).message}`, { cause: e });
  }
}

async function cancel(w: Watcher): Promise<void> {
  await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
}
