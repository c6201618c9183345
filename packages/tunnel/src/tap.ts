// TapSender: hands each encapsulated super-packet to the kernel whole, so the kernel (or the NIC) cuts it into
// standard VXLAN / flannel-udp segments on the underlay instead of weft cutting it into ~45 packets in userspace.
//
// Design notes: Linux 6.17 added UDP-tunnel GSO to TUN/TAP writes (TUN_F_UDP_TUNNEL_GSO, a 24-byte virtio
// header with the outer transport and inner network offsets). An L3 TUN refuses such writes, so the sender is a
// TAP of weft's own: the addon writes outer Ethernet (to the TAP's MAC) + IPv4 + UDP in front of each packet, and
// the kernel takes the frame as received on the TAP and forwards it out of the underlay by its routing table.
// For that the TAP (and only the TAP) needs forwarding=1, accept_local=1 (the outer source is a local address)
// and rp_filter=0; IPv6 is turned off on it so the kernel sends nothing into it. A non-zero
// net.ipv4.conf.all.rp_filter would still drop the frames (the effective value is the larger one): the open
// fails with TunnelGsoUnavailableError then, as it does on kernels without the feature, and callers keep their
// socket path. Packets come from a TunDevice in whole mode (the inner virtio header at each slot's start).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { addon, type NativeTap } from './native.ts';
import { checkInterfaceName, mapSystemError, TunnelError } from './errors.ts';
import { netnsPath } from './tun.ts';
import { DEFAULT_BATCH_SIZE, type PacketBatch, type PacketPort } from './batch.ts';
import { PollMux } from './poll.ts';

const run = promisify(execFile);

export interface TapSenderOptions {
  /** Interface name of the TAP, 1 to 15 bytes. @default 'weft-gso0' */
  name?: string;
  /** Network namespace (a name under /run/netns) to create it in and configure. @default current */
  netns?: string;
  /** Outer IPv4 source: this node's underlay address. */
  source: string;
  /** Bytes of the format's own headers in front of the inner IP packet: VXLAN 22 (8 + inner Ethernet 14), flannel-udp 0. */
  encapLength: number;
  /** Packets per write; sourcePorts has this many entries. @default 64 */
  batchSize?: number;
}

export interface TapStats {
  /** Frames written (a super-packet counts once). */
  txPackets: number;
  /** Of those, super-packets left for the kernel to segment. */
  txSuperPackets: number;
  /** Writes the kernel refused (counted, the batch went on). */
  txErrors: number;
  /** Packets whose outer IPv4 length would pass 65535 (dropped). */
  txTooBig: number;
  /** Packets with inconsistent virtio metadata or too short (dropped). */
  txMalformed: number;
  /** Packets to a peer index never registered here (dropped). */
  txUnknownPeer: number;
}

/** The kernel lacks UDP-tunnel GSO on TAP (Linux < 6.17), or the host's settings would drop what the TAP sends. */
export class TunnelGsoUnavailableError extends TunnelError {
  override name = 'TunnelGsoUnavailableError';
}

/** A write-only PacketPort: read() returns 0. Create it with openTapSender(). */
export class TapSender implements PacketPort {
  readonly name: string;
  readonly batchSize: number;
  readonly pending = false;
  /**
   * The outer UDP source port of packet i of the batch being written: the caller fills it (a hash of the inner
   * flow, e.g. encap's vxlanSourcePort) before write(); read at write time only.
   */
  readonly sourcePorts: Int32Array;
  private readonly mux: PollMux;

  /** @internal use openTapSender() */
  constructor(
    private readonly native: NativeTap,
    batchSize: number,
  ) {
    this.name = native.name;
    this.batchSize = batchSize;
    this.sourcePorts = new Int32Array(batchSize);
    this.mux = new PollMux(native);
  }

  /** True when the kernel computes outer UDP checksums of super-packets (else they carry 0, valid over IPv4). */
  get outerChecksum(): boolean {
    return this.native.outerChecksum;
  }

  read(_batch: PacketBatch, _headroom: number): number {
    return 0;
  }

  /**
   * Writes packets start..count-1 with peers[i] >= 0 to their peer, sourcePorts[i] as UDP source port. Each slot
   * must carry its inner virtio header at the slot's start (TunDevice whole mode). Returns the index of the first
   * packet not written (only when the kernel would block). Malformed packets are counted in stats() and skipped.
   */
  write(batch: PacketBatch, start = 0, peers: Int32Array = batch.peers): number {
    return this.native.send(
      batch.slab,
      batch.offsets,
      batch.lengths,
      peers,
      start,
      batch.count,
      batch.slotSize,
      this.sourcePorts,
    );
  }

  /** Registers (or replaces) peer `index`: its underlay IPv4 address and UDP port. */
  addPeer(index: number, address: string, port: number): void {
    this.native.addPeer(index, address, port);
  }

  removePeer(index: number): void {
    this.native.removePeer(index);
  }

  onReadable(_cb: (() => void) | null): void {}

  onWritable(cb: (() => void) | null): void {
    this.mux.onWritable(cb);
  }

  stats(): TapStats {
    return this.native.stats();
  }

  /** Closes the descriptor: the TAP (not persistent) disappears. */
  close(): void {
    this.native.close();
  }
}

// Keys in sysctl's slash form (an interface name may contain dots). In our own namespace /proc/sys is written
// directly (no procps needed); another namespace's goes through `ip netns exec NS sysctl`.
const procSys = (key: string): string => `/proc/sys/${key}`;

async function sysctl(netns: string | undefined, settings: string[]): Promise<void> {
  if (netns) {
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', ...settings]);
    return;
  }
  for (const s of settings) {
    const [key, value] = s.split('=') as [string, string];
    await writeFile(procSys(key), value);
  }
}

async function readSysctl(netns: string | undefined, key: string): Promise<string> {
  if (!netns) return (await readFile(procSys(key), 'utf8')).trim();
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'sysctl', '-n', key]);
  return String(stdout).trim();
}

/**
 * Creates the TAP, checks that the kernel takes UDP-tunnel GSO writes and that reverse-path filtering lets them
 * through, and configures the TAP (up; forwarding, accept_local, rp_filter 0; IPv6 off). Throws
 * TunnelGsoUnavailableError when the path cannot work here (the message says why), NotPermittedError without
 * CAP_NET_ADMIN, and the TUN errors of openTun() for the device itself.
 */
export async function openTapSender(opts: TapSenderOptions): Promise<TapSender> {
  const name = opts.name ?? 'weft-gso0';
  checkInterfaceName(name);
  const rpAll = await readSysctl(opts.netns, 'net/ipv4/conf/all/rp_filter');
  if (rpAll !== '0') {
    throw new TunnelGsoUnavailableError(
      `net.ipv4.conf.all.rp_filter is ${rpAll}: reverse-path filtering would drop the frames weft injects on ${name}`,
      'EINVAL',
    );
  }
  let native: NativeTap;
  try {
    native = new (addon().NativeTap)({ name, netns: netnsPath(opts.netns), encapLength: opts.encapLength });
  } catch (e) {
    const err = mapSystemError(e, `tap ${name}`);
    const code = (e as { code?: string }).code;
    if ((e as { syscall?: string }).syscall === 'TUNSETOFFLOAD' && code === 'EINVAL') {
      throw new TunnelGsoUnavailableError(
        `${err.message}: the kernel has no UDP-tunnel GSO on TUN/TAP (Linux >= 6.17)`,
        code,
      );
    }
    throw err;
  }
  try {
    native.setSource(opts.source);
    const ns = opts.netns ? ['-n', opts.netns] : [];
    await run('ip', [...ns, 'link', 'set', 'dev', name, 'up']);
    const conf = `net/ipv4/conf/${name}`;
    await sysctl(opts.netns, [`${conf}/forwarding=1`, `${conf}/accept_local=1`, `${conf}/rp_filter=0`]);
    await sysctl(opts.netns, [`net/ipv6/conf/${name}/disable_ipv6=1`]).catch(() => undefined); // no IPv6: nothing to turn off
  } catch (e) {
    native.close();
    throw mapSystemError(e, `tap ${name}`);
  }
  return new TapSender(native, opts.batchSize ?? DEFAULT_BATCH_SIZE);
}
