// Loads the addon built by node-gyp (`npm ci` runs scripts/build-addon.mjs) and types its surface.
// The TypeScript classes in tun.ts and udp.ts are the public face; this module is internal.
// Every entry point checks its arguments before use (native/args.cc): a wrong kind of value is a TypeError and an
// integer out of range a RangeError, each naming the function and the argument; stats come back as named fields.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TunStats } from './tun.ts';
import type { UdpStats } from './udp.ts';
import type { TapStats } from './tap.ts';

export interface NativeTun {
  readonly name: string;
  readonly fd: number;
  readonly pending: boolean;
  read(
    slab: Uint8Array,
    slotSize: number,
    headroom: number,
    offsets: Int32Array,
    lengths: Int32Array,
    max: number,
  ): number;
  write(
    slab: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array | null,
    start: number,
    count: number,
  ): number;
  setOffload(flags: number): void;
  poll(events: number, cb: (status: number, events: number) => void): void;
  stopPoll(): void;
  close(): void;
  stats(): TunStats;
}

export interface NativeUdp {
  readonly pending: boolean;
  bind(address: string, port: number): number;
  addPeer(index: number, address: string, port: number): void;
  removePeer(index: number): void;
  setBuffers(send: number, receive: number): { send: number; receive: number };
  setGso(on: boolean): boolean;
  setGro(on: boolean): boolean;
  setPeerByAddress(on: boolean): void;
  sharePeers(other: NativeUdp): void;
  send(
    slab: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array,
    start: number,
    count: number,
  ): number;
  recv(
    slab: Uint8Array,
    slotSize: number,
    headroom: number,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array,
    max: number,
  ): number;
  sourceOf(slot: number): { address: string; port: number } | null;
  poll(events: number, cb: (status: number, events: number) => void): void;
  stopPoll(): void;
  close(): void;
  stats(): UdpStats;
}

export interface NativeTap {
  readonly name: string;
  /** True when the kernel fills outer UDP checksums of super-packets (TUN_F_UDP_TUNNEL_GSO_CSUM). */
  readonly outerChecksum: boolean;
  setSource(address: string): void;
  addPeer(index: number, address: string, port: number): void;
  removePeer(index: number): void;
  send(
    slab: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    peers: Int32Array,
    start: number,
    count: number,
    slotSize: number,
    ports: Int32Array,
  ): number;
  poll(events: number, cb: (status: number, events: number) => void): void;
  stopPoll(): void;
  close(): void;
  stats(): TapStats;
  frameHeaders(
    slab: Uint8Array,
    offset: number,
    length: number,
    slotSize: number,
    peer: number,
    port: number,
  ): Uint8Array | null;
}

export interface Addon {
  NativeTun: new (opts: {
    name: string;
    netns?: string;
    multiQueue?: boolean;
    vnetHdr?: boolean;
    offloads?: number;
    whole?: boolean;
    mtu?: number;
    mtu6?: number;
  }) => NativeTun;
  NativeTap: new (opts: {
    name: string;
    netns?: string;
    encapLength: number;
    family?: 4 | 6;
    innerMtu?: number;
    innerMtu6?: number;
  }) => NativeTap;
  NativeUdp: new (opts: { family: 4 | 6; netns?: string }) => NativeUdp;
  splitSuperPacket(
    pkt: Uint8Array,
    slab: Uint8Array,
    slotSize: number,
    headroom: number,
    offsets: Int32Array,
    lengths: Int32Array,
    max: number,
  ): number;
  coalescePackets(
    slab: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    start: number,
    count: number,
    out: Uint8Array,
  ): { used: number; outLength: number; why: number };
  checksumOk(pkt: Uint8Array): boolean;
  planInnerWrite(
    pkt: Uint8Array,
    mtu: number,
    vnet: boolean,
    hdrOut: Uint8Array,
    slab: Uint8Array,
    slotSize: number,
    lengths: Int32Array,
  ): {
    verdict: number;
    length: number;
    partial: boolean;
    superPacket: boolean;
    segments: number;
  };
  /** nf_tables ruleset generation of the namespace (netlink_gen.cc); throws an errno error. */
  nftGeneration(netns?: string): number;
}

/** Thrown when build/Release/weft_tunnel.node is missing: the message says how to build it. */
export class AddonNotBuiltError extends Error {
  override name = 'AddonNotBuiltError';
}

const ADDON_PATH = fileURLToPath(new URL('../build/Release/weft_tunnel.node', import.meta.url));
let cached: Addon | undefined;

/** The addon, loaded on first use (so importing this package never fails on a machine without it). */
export function addon(): Addon {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    throw new AddonNotBuiltError(
      `the @weft/tunnel native addon is not built (${ADDON_PATH} missing): run \`npm ci\` at the repo root, ` +
        'or `node packages/tunnel/scripts/build-addon.mjs` (needs g++, make and python3)',
    );
  }
  cached = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  return cached;
}
