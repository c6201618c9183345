// Subnet leases: flannel's LeaseAttrs JSON, lease events, the store contract and its errors. No I/O here.
import { tryParseIpv4, type Ipv4Prefix } from '@weft/netaddr';

/**
 * flannel's LeaseAttrs, field names as flannel writes them so its operators recognise the JSON.
 * `NodeName` is our addition (flannel ignores unknown fields); see `isOwnLease` for how it is used.
 */
export interface LeaseAttrs {
  readonly PublicIP: string;
  readonly BackendType: string;
  /** Backend-specific; vxlan: `{ "VNI": 1, "VtepMAC": "0a:58:..." }`. */
  readonly BackendData?: unknown;
  readonly NodeName?: string;
}

/** A subnet leased by one node. */
export interface Lease {
  readonly subnet: Ipv4Prefix;
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
  /** Claims `subnet` if nobody holds it (an expired lease counts as free); null when it is taken. */
  createLease(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number): Promise<Lease | null>;
  /** Extends an existing lease and replaces its attrs; rejects with LeaseNotFoundError when it is gone. */
  renewLease(subnet: Ipv4Prefix, attrs: LeaseAttrs, ttlMs: number): Promise<Lease>;
  /** Removes a lease; false when there was none. */
  deleteLease(subnet: Ipv4Prefix): Promise<boolean>;
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
  readonly publicIp: string;
}

/**
 * True when `attrs` belong to this node. A lease that records a NodeName is ours when the name matches
 * (so a node whose address changed gets its subnet back); a lease without one (written by flanneld)
 * is ours when its PublicIP matches, which is flannel's own rule.
 */
export function isOwnLease(attrs: LeaseAttrs, me: NodeIdentity): boolean {
  if (attrs.NodeName) return attrs.NodeName === me.nodeName;
  return attrs.PublicIP === me.publicIp;
}

/** Parses LeaseAttrs JSON from a store; null when it is not an object with a valid IPv4 PublicIP. */
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
  return {
    PublicIP: o.PublicIP,
    BackendType: typeof o.BackendType === 'string' ? o.BackendType : '',
    ...(o.BackendData !== undefined ? { BackendData: o.BackendData } : {}),
    ...(typeof o.NodeName === 'string' ? { NodeName: o.NodeName } : {}),
  };
}

/** Deep equality of two attrs through their JSON (attrs are small and JSON-shaped). */
export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
