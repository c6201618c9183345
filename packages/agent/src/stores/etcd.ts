// LeaseStore on etcd v3, in flannel's key layout so a flannel operator recognises every key:
//   PREFIX/config                    net-conf.json
//   PREFIX/subnets/10.244.1.0-24     LeaseAttrs JSON, attached to an etcd lease whose TTL is the lease's life
//   (dual stack `10.244.1.0-24&fd00:0:0:1::-64`, IPv6 only `0.0.0.0-0&fd00:0:0:1::-64`: subnet-key.ts)
// Claims are transactions "create revision of the key == 0 → put", so two nodes never both win a subnet.
// A renewal grants a fresh etcd lease, re-puts the key on it only if the key still exists, then revokes
// the old etcd lease (which no longer holds the key). Expiry is etcd's: it deletes the key, and watchers
// see a delete. Every unary call carries a deadline, so an unreachable etcd becomes StoreUnavailableError
// instead of a hang; a watch stream that drops ends the watch (the lease manager lists again).
// TLS and auth (etcd-credentials.ts): refusals become StoreCredentialErrors; after a TLS refusal the files are
// read again, and a changed set (certificates rotated on disk) rebuilds the client, so the next retry uses it.
import { Etcd3, type IEvent, type IKeyValue, type Watcher } from 'etcd3';
import type { Ipv4Prefix, Ipv6Prefix } from '@weft/netaddr';
import { ConfigError } from '../config.ts';
import {
  StoreCredentialError,
  classifyEtcdError,
  readTlsMaterial,
  sameMaterial,
  type EtcdAuth,
  type EtcdTlsFiles,
  type TlsMaterial,
} from './etcd-credentials.ts';
import { leaseKey, parseLeaseKey } from '../subnet-key.ts';
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
  /** `http://host:port` or `https://host:port` URLs, one scheme for all; a bare `host:port` is http. */
  endpoints: readonly string[];
  /** Key prefix, default flannel's `/coreos.com/network`. */
  prefix?: string;
  /** Deadline of each unary call (default 5000 ms). */
  callTimeoutMs?: number;
  /** Client-certificate TLS (flanneld's --etcd-cafile, --etcd-certfile, --etcd-keyfile); needs https endpoints. */
  tls?: EtcdTlsFiles;
  /** etcd user and password (flanneld's --etcd-username, --etcd-password). */
  auth?: EtcdAuth;
}

export class EtcdLeaseStore implements LeaseStore {
  private client: Etcd3;
  private readonly prefix: string;
  private readonly hosts: string[];
  private material: TlsMaterial | undefined;
  private lastFailure: StoreUnavailableError | null = null;

  /** Checks endpoints and reads the TLS files; throws ConfigError naming the flag. Connects lazily. */
  constructor(private readonly opts: EtcdStoreOptions) {
    this.prefix = opts.prefix ?? '/coreos.com/network';
    this.hosts = normalizeEndpoints(opts.endpoints, !!(opts.tls?.caFile || opts.tls?.certFile || opts.tls?.keyFile));
    this.material = readTlsMaterial(opts.tls);
    this.client = this.connect();
  }

  private connect(): Etcd3 {
    const timeout = this.opts.callTimeoutMs ?? 5000;
    const { auth } = this.opts;
    const deadline = () => ({ deadline: Date.now() + timeout });
    return new Etcd3({
      hosts: this.hosts,
      dialTimeout: timeout,
      // gRPC's createSsl takes null for "the system's CAs"; etcd3's type insists on a Buffer.
      ...(this.material ? { credentials: this.material as { rootCertificate: Buffer } } : {}),
      ...(auth ? { auth: { username: auth.username, password: auth.password, callOptions: deadline } } : {}),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : deadline()),
    });
  }

  /** Runs one etcd call; failures become StoreUnavailableError (StoreCredentialError for TLS/auth refusals). */
  private async call<T>(fn: (client: Etcd3) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (e) {
      // etcd3's circuit breaker stops calls after 3 failures in a row: keep reporting the failure that opened it.
      const broken = /circuit breaker is open/i.test((e as Error)?.message ?? '');
      const err =
        broken && this.lastFailure
          ? this.lastFailure
          : classifyEtcdError(e, { tls: this.opts.tls, auth: this.opts.auth, prefix: this.prefix });
      this.lastFailure = err;
      if (err instanceof StoreCredentialError && err.kind === 'tls') this.reloadIfRotated();
      throw err;
    }
  }

  /** Certificates rotated on disk (and still readable and valid): a new client with them. */
  private reloadIfRotated(): void {
    let fresh: TlsMaterial | undefined;
    try {
      fresh = readTlsMaterial(this.opts.tls);
    } catch {
      return; // mid-rotation or still bad: keep the old client, the next failure looks again
    }
    if (sameMaterial(fresh, this.material)) return;
    this.material = fresh;
    const old = this.client;
    this.client = this.connect();
    this.lastFailure = null;
    old.close();
  }

  private key(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): Buffer {
    return Buffer.from(`${this.prefix}/subnets/${leaseKey(subnet, ipv6Subnet)}`);
  }

  async getConfig(): Promise<string | null> {
    const res = await this.call((c) => c.kv.range({ key: Buffer.from(`${this.prefix}/config`) }));
    return res.kvs[0]?.value.toString() ?? null;
  }

  async putConfig(json: string): Promise<void> {
    await this.call((c) => c.kv.put({ key: Buffer.from(`${this.prefix}/config`), value: Buffer.from(json) }));
  }

  async listLeases(): Promise<LeaseSnapshot> {
    const start = Buffer.from(`${this.prefix}/subnets/`);
    const res = await this.call((c) => c.kv.range({ key: start, range_end: prefixEnd(start) }));
    // Expiry stays 0 ("with the etcd lease", as in watch events): one TimeToLive call per key made a listing
    // of 5,000 nodes 5,000 round trips, and nothing reads a peer's expiry (our own comes from grant and renew).
    const leases: Lease[] = [];
    for (const kv of res.kvs) {
      const lease = this.toLease(kv, 0);
      if (lease) leases.push(lease);
    }
    return { leases, revision: Number(res.header.revision) };
  }

  /** Like flanneld, the claim compares the key alone (another key holding one of the subnets is not seen). */
  async createLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease | null> {
    const grant = await this.grant(ttlMs);
    const key = this.key(subnet, ipv6Subnet);
    const res = await this.call((c) =>
      c.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(attrs)), lease: grant.id } }],
      }),
    );
    if (!res.succeeded) {
      await this.revoke(grant.id);
      return null;
    }
    return { subnet, ...(ipv6Subnet ? { ipv6Subnet } : {}), attrs, expiresAt: grant.expiresAt };
  }

  async renewLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease> {
    const grant = await this.grant(ttlMs);
    const key = this.key(subnet, ipv6Subnet);
    const res = await this.call((c) =>
      c.kv.txn({
        compare: [{ key, target: 'Create', result: 'Greater', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(attrs)), lease: grant.id, prev_kv: true } }],
      }),
    );
    if (!res.succeeded) {
      await this.revoke(grant.id);
      throw new LeaseNotFoundError(`no lease for ${leaseKey(subnet, ipv6Subnet)}`);
    }
    const old = res.responses[0]?.response_put?.prev_kv?.lease;
    if (old && old !== '0' && old !== grant.id) await this.revoke(old);
    return { subnet, ...(ipv6Subnet ? { ipv6Subnet } : {}), attrs, expiresAt: grant.expiresAt };
  }

  async deleteLease(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): Promise<boolean> {
    const res = await this.call((c) => c.kv.deleteRange({ key: this.key(subnet, ipv6Subnet), prev_kv: true }));
    const lease = res.prev_kvs[0]?.lease;
    if (lease && lease !== '0') await this.revoke(lease);
    return Number(res.deleted) > 0;
  }

  async watchLeases(afterRevision: number, onBatch: (b: LeaseBatch) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const watcher = this.client
      .watch()
      .prefix(`${this.prefix}/subnets/`)
      .startRevision(String(afterRevision + 1))
      .withPreviousKV()
      .watcher();
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        const fail = (e: Error) => {
          signal.removeEventListener('abort', onAbort);
          reject(/compact/i.test(e.message) ? new RevisionCompactedError(e.message) : this.watchError(e));
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

  private watchError(e: Error): StoreUnavailableError {
    const err = classifyEtcdError(e, { tls: this.opts.tls, auth: this.opts.auth, prefix: this.prefix });
    err.message = `${err.message} (watch)`;
    return err;
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
    if (lease) return { type: 'removed', lease };
    const key = this.parseKey(e.kv);
    return key && { type: 'removed', lease: { ...key, attrs: { PublicIP: '0.0.0.0', BackendType: '' }, expiresAt: 0 } };
  }

  /** The subnets a stored key names (any of flannel's three key forms), or null. */
  private parseKey(kv: IKeyValue): { subnet: Ipv4Prefix; ipv6Subnet?: Ipv6Prefix } | null {
    const key = parseLeaseKey(kv.key.toString().slice(`${this.prefix}/subnets/`.length));
    if (!key) return null;
    return key.ipv6Subnet ? { subnet: key.subnet, ipv6Subnet: key.ipv6Subnet } : { subnet: key.subnet };
  }

  private toLease(kv: IKeyValue, expiresAt: number): Lease | null {
    const key = this.parseKey(kv);
    const attrs = parseLeaseAttrs(kv.value.toString());
    return key && attrs ? { ...key, attrs, expiresAt } : null;
  }

  private async grant(ttlMs: number): Promise<{ id: string; expiresAt: number }> {
    const res = await this.call((c) => c.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlMs / 1000)) }));
    if (res.error) throw new StoreUnavailableError(`etcd lease grant: ${res.error}`);
    return { id: res.ID, expiresAt: Date.now() + Number(res.TTL) * 1000 };
  }

  private async revoke(id: string): Promise<void> {
    // Best effort: an unrevoked etcd lease with no keys just runs out.
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
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

/** Endpoint URLs for etcd3: one scheme for all, https when TLS files are given. Throws ConfigError. */
function normalizeEndpoints(endpoints: readonly string[], tlsFiles: boolean): string[] {
  if (endpoints.length === 0) throw new ConfigError('--etcd-endpoints', 'no endpoint given');
  const urls = endpoints.map((e) => {
    const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `http://${e}`;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError('--etcd-endpoints', `"${e}" is not a URL such as https://127.0.0.1:2379`);
    }
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      !url.port ||
      (url.pathname !== '/' && url.pathname !== '')
    ) {
      throw new ConfigError('--etcd-endpoints', `"${e}" is not http(s)://HOST:PORT`);
    }
    return `${url.protocol}//${url.host}`;
  });
  const schemes = new Set(urls.map((u) => u.slice(0, u.indexOf(':'))));
  if (schemes.size > 1)
    throw new ConfigError('--etcd-endpoints', 'mixes http:// and https:// endpoints; use one scheme');
  if (tlsFiles && schemes.has('http'))
    throw new ConfigError('--etcd-endpoints', '--etcd-cafile/--etcd-certfile/--etcd-keyfile need https:// endpoints');
  return urls;
}

async function cancel(w: Watcher): Promise<void> {
  await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
}
