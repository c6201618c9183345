// TunDevice: a Linux TUN device (IFF_TUN | IFF_NO_PI) behind the batch-shaped PacketPort interface.
//
// Design notes: the device is opened by the addon, optionally inside a network namespace (it setns()es the
// calling thread into /run/netns/NAME just for TUNSETIFF and returns at once), so tests and the agent can own
// devices in several namespaces from one process. Readiness comes from a uv_poll_t on Node's main loop; each
// read() drains up to batchSize packets with non-blocking read(2) calls in one trip into C. With offloads
// (IFF_VNET_HDR + TUNSETOFFLOAD) the kernel hands TCP super-packets of up to 64 KB, which the addon splits
// into MTU-sized packets before they reach JavaScript, and write() coalesces consecutive segments of one flow
// back into super-packets. Segmentation is native because it is a memcpy plus a checksum per segment, which
// C does at memory speed and JavaScript would do byte by byte.
// Configuration (MTU, addresses, link state) uses iproute2: it is not the hot path, and each step can be
// logged as the command an operator would type.
import { execFile } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { addon, type NativeTun } from './native.ts';
import { checkInterfaceName, mapSystemError } from './errors.ts';
import { DEFAULT_BATCH_SIZE, type PacketBatch, type PacketPort } from './batch.ts';
import { PollMux } from './poll.ts';

/** TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h). */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** The combination that lets the kernel hand TCP super-packets: checksum offload plus TSO for IPv4 and IPv6. */
export const TCP_OFFLOADS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6;

export interface TunOptions {
  /** Interface name, 1 to 15 bytes. @default 'flannel0' */
  name?: string;
  /** Network namespace to create the device in: a name under /run/netns or an absolute path. @default current */
  netns?: string;
  /** IFF_MULTI_QUEUE: several descriptors (processes or threads) may attach to one device. @default false */
  multiQueue?: boolean;
  /**
   * TUNSETOFFLOAD flags (TunOffload); a non-zero value turns on IFF_VNET_HDR. 0 or absent: plain packets, and
   * offloads are reset to 0 in case a previous owner of a persistent device left them on. @default 0
   */
  offloads?: number;
  /**
   * The device's MTU, as configureLink will set it: a TCP packet written with more payload than MTU minus its
   * headers is a super-packet (written whole as one GSO write with gso_size = MTU - headers, or segmented to
   * that size without offloads). @default 1500
   */
  mtu?: number;
  /**
   * The MTU IPv6 super-packets are cut at instead (flannel0's IPv6 route MTU: 20 bytes under the device's with an
   * IPv6 underlay), so that a pod whose MTU lies between the two still takes every segment. @default mtu
   */
  mtu6?: number;
  /** Packets per read; with offloads at least MIN_OFFLOAD_BATCH_SIZE, as one super-packet fills many slots. @default 64 */
  batchSize?: number;
  /**
   * With offloads: read super-packets whole instead of splitting them, for a sender that hands them to the
   * kernel whole (TapSender). Each slot then holds the packet's 10-byte virtio header in its first bytes and the
   * packet at the headroom (>= 10), and needs 64 KB after the headroom. @default false
   */
  whole?: boolean;
}

export interface TunStats {
  /** Packets returned by read (segments, after splitting). */
  rxPackets: number;
  /** Super-packets split into segments. */
  rxSuperPackets: number;
  /** Super-packets dropped because their headers were inconsistent. */
  rxMalformed: number;
  /** Packets written (each segment of a coalesced write counts). */
  txPackets: number;
  /** Coalesced super-packets written. */
  txSuperPackets: number;
  /**
   * Packets dropped on write because an IPv4 header checksum or a complete TCP/UDP checksum was wrong (with
   * offloads every packet is checked; without, super-packets and partial ones, the kernel checks the rest).
   */
  txChecksumDrops: number;
  /** Writes the kernel refused (EINVAL, EIO...): counted, the batch went on. */
  txErrors: number;
  /** Super-packets dropped because they split into more segments than batchSize (raise batchSize). */
  rxTooManySegments: number;
  /** Written TCP super-packets that went to the kernel whole, as one GSO write (offloads on). */
  txGsoWhole: number;
  /** Written packets whose TCP/UDP checksum was partial (pseudo-header sum only): NEEDS_CSUM, or completed. */
  txPartialChecksums: number;
  /** Written TCP super-packets cut into MTU-sized segments here (offloads off). */
  txSegmentedSuper: number;
  /** Packets not written because their headers contradict their bytes (truncated, lying lengths). */
  txMalformed: number;
  /** Super-packets not written because they needed more segments than the scratch space holds. */
  txTooManySegments: number;
  /** UDP GSO super-packets not written: their segment size (the datagram boundaries) did not travel with them. */
  txUdpSuperPackets: number;
}

/** Smallest batchSize with offloads: a 64 KB super-packet at MSS 1400 is 47 segments (wireguard-go uses 128). */
export const MIN_OFFLOAD_BATCH_SIZE = 64;

export function netnsPath(netns: string | undefined): string | undefined {
  if (!netns) return undefined;
  return isAbsolute(netns) ? netns : `/run/netns/${netns}`;
}

/** A TUN device; create it with openTun(). */
export class TunDevice implements PacketPort {
  readonly name: string;
  readonly batchSize: number;
  readonly offloads: number;
  private readonly mux: PollMux;

  /** @internal use openTun() */
  constructor(
    private readonly native: NativeTun,
    opts: TunOptions,
  ) {
    this.name = native.name;
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.offloads = opts.offloads ?? 0;
    this.mux = new PollMux(native);
  }

  get pending(): boolean {
    return this.native.pending;
  }

  /** See PacketPort.read. Slots must hold headroom + MTU bytes (a longer packet would be truncated by the kernel). */
  read(batch: PacketBatch, headroom: number): number {
    const max = Math.min(batch.capacity, this.batchSize);
    const n = this.native.read(batch.slab, batch.slotSize, headroom, batch.offsets, batch.lengths, max);
    batch.peers.fill(-1, 0, n);
    batch.count = n;
    return n;
  }

  /** See PacketPort.write: packets with peers[i] < 0 are skipped. With offloads, runs of segments are coalesced. */
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    return this.native.write(batch.slab, batch.offsets, batch.lengths, peers, start, batch.count);
  }

  onReadable(cb: (() => void) | null): void {
    this.mux.onReadable(cb);
  }

  onWritable(cb: (() => void) | null): void {
    this.mux.onWritable(cb);
  }

  /** Changes TUNSETOFFLOAD flags (needs a device opened with offloads, i.e. IFF_VNET_HDR). */
  setOffloads(flags: number): void {
    try {
      this.native.setOffload(flags);
    } catch (e) {
      throw mapSystemError(e, `tun ${this.name}`);
    }
  }

  stats(): TunStats {
    return this.native.stats();
  }

  /** Stops polling, resets offloads to 0 and closes the descriptor (a non-persistent device disappears). */
  close(): void {
    this.native.close();
  }
}

/**
 * Creates (or attaches to) a TUN device. Throws NotPermittedError without CAP_NET_ADMIN, TunUnavailableError
 * without /dev/net/tun, DeviceBusyError when another process holds it, BadNameError for names the kernel refuses.
 */
export function openTun(opts: TunOptions = {}): TunDevice {
  const name = opts.name ?? 'flannel0';
  checkInterfaceName(name);
  const offloads = opts.offloads ?? 0;
  if (offloads && !opts.whole && (opts.batchSize ?? DEFAULT_BATCH_SIZE) < MIN_OFFLOAD_BATCH_SIZE) {
    throw new RangeError(
      `batchSize ${opts.batchSize} is too small for offloads: one super-packet needs up to ${MIN_OFFLOAD_BATCH_SIZE} slots`,
    );
  }
  try {
    const native = new (addon().NativeTun)({
      name,
      netns: netnsPath(opts.netns),
      multiQueue: opts.multiQueue ?? false,
      vnetHdr: offloads !== 0,
      offloads,
      whole: opts.whole ?? false,
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
      ...(opts.mtu6 !== undefined ? { mtu6: opts.mtu6 } : {}),
    });
    return new TunDevice(native, opts);
  } catch (e) {
    throw mapSystemError(e, `tun ${name}`);
  }
}

export interface LinkConfig {
  mtu?: number;
  /**
   * Packets the kernel queues for the reader (`ip link set txqueuelen`). TUN's default of 500 overflows when a
   * forwarder on a busy machine is scheduled out for a moment, and every overflow is a TCP retransmission.
   */
  txQueueLength?: number;
  /** CIDR addresses to add, e.g. '10.244.1.0/32' or '10.244.1.1/24'. */
  addresses?: readonly string[];
  /** Bring the link up. @default true */
  up?: boolean;
  /** Routes to add through the device, e.g. '10.244.0.0/16'. */
  routes?: readonly string[];
}

/**
 * Configures a link with iproute2: the `ip [-n NS] link set ...`, `addr replace`, `route replace` lines as one
 * `ip -batch -` run (one process instead of one per step: on a busy node each fork costs 100-250 ms, and an agent
 * restarting after a crash forwards nothing until this is done). Rejects with ip's message when a line fails.
 */
export async function configureLink(name: string, cfg: LinkConfig, netns?: string): Promise<void> {
  checkInterfaceName(name);
  const lines: string[] = [];
  const attrs = [
    ...(cfg.mtu ? ['mtu', String(cfg.mtu)] : []),
    ...(cfg.txQueueLength ? ['txqueuelen', String(cfg.txQueueLength)] : []),
  ];
  if (attrs.length) lines.push(`link set dev ${name} ${attrs.join(' ')}`);
  for (const a of cfg.addresses ?? []) lines.push(`addr replace ${a} dev ${name}`);
  if (cfg.up ?? true) lines.push(`link set dev ${name} up`);
  for (const r of cfg.routes ?? []) lines.push(`route replace ${r} dev ${name}`);
  if (lines.length) await runWithInput('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], `${lines.join('\n')}\n`);
}

/** Runs `file args` with `input` on stdin; rejects with its stderr when it exits non-zero. */
function runWithInput(file: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, (err, _stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve(),
    );
    child.stdin?.on('error', () => {}); // EPIPE when ip exits early: its exit status says why
    child.stdin?.end(input);
  });
}
