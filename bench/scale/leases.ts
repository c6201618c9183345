// The scale bench's leases in flannel's etcd layout: `<prefix>/subnets/10.X.Y.0-24` holding LeaseAttrs JSON
// (PublicIP, BackendType, BackendData.VtepMAC), every key on an etcd lease (one shared lease here: flanneld
// grants one per node, which changes nothing the agent sees). Node i
// (1-based) has subnet 10.0.0.0/9's i-th /24 and underlay address 10.200.(i>>8).(i&255); the agent under test
// sits at UNDERLAY_AGENT, outside that range.
import { Etcd3, type Lease as EtcdLease } from 'etcd3';

export const PREFIX = '/coreos.com/network';
export const NETWORK = '10.0.0.0/9';
export const UNDERLAY_AGENT = '10.200.255.254';
export const NET_CONF = JSON.stringify({ Network: NETWORK, SubnetLen: 24, Backend: { Type: 'vxlan', VNI: 1 } });
/** The most nodes the layout numbers (10.0.0.0/9 holds 32,768 /24s; node 0 would be the network's own /24). */
export const MAX_NODE = 32_767;
/** Writes in flight at once: many nodes renewing or joining together, as etcd sees a busy cluster. */
const CONCURRENCY = 64;
const TXN_OPS = 128;

/** Node i's subnet in CIDR form. */
export function subnetOf(i: number): string {
  return `10.${(i >> 8) & 0x7f}.${i & 255}.0/24`;
}

function attrsOf(i: number, generation: number): string {
  const b = (n: number) => n.toString(16).padStart(2, '0');
  return JSON.stringify({
    PublicIP: `10.200.${i >> 8}.${i & 255}`,
    BackendType: 'vxlan',
    BackendData: { VNI: 1, VtepMAC: `0a:58:${b(generation)}:${b(i >> 16)}:${b((i >> 8) & 255)}:${b(i & 255)}` },
  });
}

/** One etcd client writing bench leases. */
export class LeaseWriter {
  private readonly client: Etcd3;
  private lease?: EtcdLease;

  constructor(endpoint: string) {
    this.client = new Etcd3({ hosts: endpoint });
  }

  async putConfig(): Promise<void> {
    await this.client.put(`${PREFIX}/config`).value(NET_CONF);
  }

  /** Writes the leases of nodes `ids` (one put each, CONCURRENCY in flight) on a TTL'd etcd lease. */
  async put(ids: readonly number[], ttlSeconds = 3600): Promise<void> {
    this.lease ??= this.client.lease(ttlSeconds, { autoKeepAlive: false });
    const lease = this.lease;
    await this.each(ids, (i) => lease.put(this.key(i)).value(attrsOf(i, 1)).exec());
  }

  /** Writes the leases of nodes `ids` fast, 128 puts per transaction (etcd's --max-txn-ops): the set-up. */
  async fill(ids: readonly number[], ttlSeconds = 3600): Promise<void> {
    this.lease ??= this.client.lease(ttlSeconds, { autoKeepAlive: false });
    const leaseId = await this.lease.grant();
    const chunks: number[][] = [];
    for (let k = 0; k < ids.length; k += TXN_OPS) chunks.push(ids.slice(k, k + TXN_OPS));
    await each(chunks, 8, (chunk) =>
      this.client.kv.txn({
        success: chunk.map((i) => ({
          request_put: { key: Buffer.from(this.key(i)), value: Buffer.from(attrsOf(i, 1)), lease: leaseId },
        })),
      }),
    );
  }

  /** Deletes the leases of nodes `ids` (nodes leaving). */
  async remove(ids: readonly number[]): Promise<void> {
    await this.each(ids, (i) => this.client.delete().key(this.key(i)).exec());
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private key(i: number): string {
    return `${PREFIX}/subnets/${subnetOf(i).replace('/', '-')}`;
  }

  private each(ids: readonly number[], op: (i: number) => Promise<unknown>): Promise<void> {
    return each(ids, CONCURRENCY, op);
  }
}

/** Runs `op` over `items` with at most `width` in flight. */
async function each<T>(items: readonly T[], width: number, op: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await op(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
