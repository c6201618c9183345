// Subnet leases: flannel's LeaseAttrs JSON, lease events, the store contract and its errors. No I/O here.
// A lease holds an IPv4 subnet, an IPv6 subnet, or both (dual stack), keyed as subnet-key.ts writes them. An
// IPv6-only lease carries NO_IPV4_SUBNET (0.0.0.0/0) as its `subnet`, the way flannel keeps an empty IPv4 net.
import {
  formatIpv6,
  ipv4PrefixEquals,
  ipv6PrefixEquals,
  tryParseIpv4,
  tryParseIpv6,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '@weft/netaddr';
import { hasIpv4Subnet } from './subnet-key.ts';

/**
 * flannel's LeaseAttrs, field names as flannel writes them so its operators recognise the JSON.
 * `NodeName` is our addition (flannel ignores unknown fields); see `isOwnLease` for how it is used.
 */
export interface LeaseAttrs {
  /** `0.0.0.0` in an IPv6-only lease, as flanneld writes it. */
  readonly PublicIP: string;
  /** The node's IPv6 underlay address (dual stack, IPv6 only); flanneld writes `null` when it has none. */
  readonly PublicIPv6?: string | null;
  readonly BackendType: string;
  /** Backend-specific; vxlan: `{ "VNI": 1, "VtepMAC": "0a:58:..." }`. */
  readonly BackendData?: unknown;
  /** The same for the IPv6 side; vxlan: VNI and VtepMAC of the IPv6 VTEP (flannel's flannel-v6.<VNI>). */
  readonly BackendV6Data?: unknown;
  readonly NodeName?: string;
}

/** A subnet leased by one node. */
export interface Lease {
  /** The IPv4 subnet; NO_IPV4_SUBNET (0.0.0.0/0) in an IPv6-only lease. */
  readonly subnet: Ipv4Prefix;
  /** The IPv6 subnet of a dual-stack or IPv6-only lease; absent (or null) in an IPv4-only one. */
  readonly ipv6Subnet?: Ipv6Prefix | null;
  readonly attrs: LeaseAttrs;
  /** Milliseconds since the epoch; 0 when the store did not report it (etcd watch events). */
  readonly expiresAt: number;
}

export type LeaseEvent =
  | { readonly type: 'added'; readonly lease: Lease }
  | { readonly type: 'removed'; readonly lease: Lease };

/** All current leases and the store revision they were read at (watch from there). */
export interface LeaseSnapshot {
  readonly leases: readonly Lease[];
  readonly revision: number;
}

/** Changes after some revision, in store order, up to and including `revision`. */
export interface LeaseBatch {
  readonly revision: number;
  readonly events: readonly LeaseEvent[];
}

/**
 * The narrow store seam the lease manager sits on. Implementations: embedded SQLite, etcd v3, in-memory.
 * Every method may reject with StoreUnavailableError (the store cannot be reached; retry later).
 */
export interface LeaseStore {
  /** The net-conf.json text stored for the network, or null when none is stored. */
  getConfig(): Promise<string | null>;
  /** Stores net-conf.json text (operators and tests; flannel's `etcdctl put PREFIX/config`). */
  putConfig(json: string): Promise<void>;
  /** Every unexpired lease and the revision of that view. */
  listLeases(): Promise<LeaseSnapshot>;
  /**
   * Claims the lease keyed `leaseKey(subnet, ipv6Subnet)` if nobody holds it (an expired lease counts as free);
   * null when it is taken. `ipv6Subnet` makes it a dual-stack lease, or IPv6-only with `subnet` NO_IPV4_SUBNET.
   */
  createLease(
    subnet: Ipv4Prefix,
    attrs: LeaseAttrs,
    ttlMs: number,
    ipv6Subnet?: Ipv6Prefix | null,
  ): Promise<Lease | null>;
  /** Extends an existing lease and replaces its attrs; rejects with LeaseNotFoundError when it is gone. */
  renewLease(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number, ipv6Subnet?: Ipv6Prefix | null): Promise<Lease>;
  /** Removes a lease; false when there was none. */
  deleteLease(subnet: Ipv4Prefix, ipv6Subnet?: Ipv6Prefix | null): Promise<boolean>;
  /**
   * Calls `onBatch` for each batch of changes with revision > `afterRevision` (expiries arrive as
   * `removed`). Resolves when `signal` aborts; otherwise only rejects: StoreUnavailableError, or
   * RevisionCompactedError when `afterRevision` is too old (list again and watch from the new revision).
   */
  watchLeases(afterRevision: number, onBatch: (batch: LeaseBatch) => void, signal: AbortSignal): Promise<void>;
  /** Releases connections and timers; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** The store cannot be reached or timed out. Retry with back-off; keep the last known leases meanwhile. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The lease to renew no longer exists (expired or deleted). Re-acquire. */
export class LeaseNotFoundError extends Error {
  override name = 'LeaseNotFoundError';
}

/** A watch asked for history the store no longer keeps. List again, then watch from the new revision. */
export class RevisionCompactedError extends Error {
  override name = 'RevisionCompactedError';
}

/** Every subnet in [SubnetMin, SubnetMax] is leased. Retry later or widen the range; not a store fault. */
export class NoFreeSubnetError extends Error {
  override name = 'NoFreeSubnetError';
}

/** Who this node is, for finding its own lease again after a restart. */
export interface NodeIdentity {
  readonly nodeName: string;
  /** `0.0.0.0` on an IPv6-only node (flannel's PublicIP there). */
  readonly publicIp: string;
  /** The IPv6 underlay address, when the node leases an IPv6 subnet. */
  readonly publicIpv6?: string | null;
}

/**
 * True when `attrs` belong to this node. A lease that records a NodeName is ours when the name matches
 * (so a node whose address changed gets its subnet back); a lease without one (written by flanneld)
 * is ours when its PublicIP matches, which is flannel's own rule. An IPv6-only node (PublicIP 0.0.0.0, which
 * every IPv6-only lease shares) matches PublicIPv6 instead.
 */
export function isOwnLease(attrs: LeaseAttrs, me: NodeIdentity): boolean {
  if (attrs.NodeName) return attrs.NodeName === me.nodeName;
  if (me.publicIp !== '0.0.0.0') return attrs.PublicIP === me.publicIp;
  const mine = me.publicIpv6 ? tryParseIpv6(me.publicIpv6) : null;
  return mine !== null && typeof attrs.PublicIPv6 === 'string' && tryParseIpv6(attrs.PublicIPv6) === mine;
}

/**
 * Parses LeaseAttrs JSON from a store; null when it is not an object with a valid IPv4 PublicIP, or when PublicIPv6
 * is neither null/absent nor an IPv6 address (flanneld skips such a lease too). PublicIPv6 is kept as written.
 */
export function parseLeaseAttrs(text: string): LeaseAttrs | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.PublicIP !== 'string' || tryParseIpv4(o.PublicIP) === null) return null;
  const v6 = o.PublicIPv6;
  if (v6 !== undefined && v6 !== null && (typeof v6 !== 'string' || tryParseIpv6(v6) === null)) return null;
  return {
    PublicIP: o.PublicIP,
    ...(v6 !== undefined ? { PublicIPv6: v6 } : {}),
    BackendType: typeof o.BackendType === 'string' ? o.BackendType : '',
    ...(o.BackendData !== undefined ? { BackendData: o.BackendData } : {}),
    ...(o.BackendV6Data !== undefined ? { BackendV6Data: o.BackendV6Data } : {}),
    ...(typeof o.NodeName === 'string' ? { NodeName: o.NodeName } : {}),
  };
}

/** The lease's PublicIPv6 in RFC 5952 text, or null when it has none. */
export function leasePublicIpv6(attrs: LeaseAttrs): string | null {
  const ip = typeof attrs.PublicIPv6 === 'string' ? tryParseIpv6(attrs.PublicIPv6) : null;
  return ip === null ? null : formatIpv6(ip);
}

/** Deep equality of two attrs through their JSON (attrs are small and JSON-shaped). */
export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * True when `l` already holds the IPv4 or the IPv6 subnet (under another key: a dual-stack lease and an IPv4-only
 * one for the same IPv4 subnet are different keys, but never both leasable).
 */
export function overlapsFamily(l: Lease, subnet: Ipv4Prefix, ipv6Subnet: Ipv6Prefix | null): boolean {
  if (hasIpv4Subnet(subnet) && hasIpv4Subnet(l.subnet) && ipv4PrefixEquals(l.subnet, subnet)) return true;
  return !!ipv6Subnet && !!l.ipv6Subnet && ipv6PrefixEquals(l.ipv6Subnet, ipv6Subnet);
}
