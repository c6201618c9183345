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
// An IPv6 source makes an IPv6 TAP (outer IPv6 headers): the kernel forwards what enters it when
// net.ipv6.conf.all.forwarding is 1 (a node routing IPv6 pods has it) or, since Linux 6.17, when the TAP's own
// force_forwarding is 1 (set here; the open fails where neither holds). IPv6 is on for that TAP but it gets no
// address (addrgenmode none), no router solicitations or DAD and no forwarding role of its own, so the kernel
// has nothing to send into it. It needs the outer UDP checksum offload (IPv6 receivers drop zero checksums).
import { execFile } from 'node:child_process';
import { isIPv6 } from 'node:net';
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
  /** Outer source: this node's underlay address; an IPv6 one makes the TAP write IPv6 outer headers. */
  source: string;
  /** Bytes of the format's own headers in front of the inner IP packet: VXLAN 22 (8 + inner Ethernet 14), flannel-udp 0. */
  encapLength: number;
  /** Packets per write; sourcePorts has this many entries. @default 64 */
  batchSize?: number;
  /**
   * The overlay MTU receivers re-cut super-packets at (VXLAN carries no segment size). A super-packet whose
   * segments are smaller (a pod MTU below it) is cut here and sent as plain frames, so no re-cut segment can
   * exceed the destination pod's MTU. 0 or absent: never cut here.
   */
  innerMtu?: number;
  /** The same for inner IPv6, whose overlay routes carry their own, lower MTU. @default innerMtu */
  innerMtu6?: number;
}

export interface TapStats {
  /** Frames written (a super-packet counts once). */
  txPackets: number;
  /** Of those, super-packets left for the kernel to segment. */
  txSuperPackets: number;
  /** Writes the kernel refused (counted, the batch went on). */
  txErrors: number;
  /** Packets whose outer IPv4 total length (IPv6 payload length) would pass 65535 (dropped). */
  txTooBig: number;
  /** Packets with inconsistent virtio metadata or too short (dropped). */
  txMalformed: number;
  /** Packets to a peer index never registered here (dropped). */
  txUnknownPeer: number;
  /** Super-packets with segments below innerMtu's, cut here and sent as plain frames (each counted in txPackets). */
  txSplitSuperPackets: number;
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
  /** The outer IP version this TAP writes. */
  readonly family: 4 | 6;
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
    family: 4 | 6 = 4,
  ) {
    this.family = family;
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

  /**
   * The virtio header (24 bytes) and outer Ethernet + IP + UDP headers write() would put in front of packet `i`
   * of `batch` for `peer` with source port `port` (a copy), or null when write() would drop it. Like write(),
   * it completes a partial inner checksum in place; counters are not touched. For inspection and tests.
   */
  frameHeaders(batch: PacketBatch, i: number, peer: number, port: number): Uint8Array | null {
    return this.native.frameHeaders(batch.slab, batch.offsets[i]!, batch.lengths[i]!, batch.slotSize, peer, port);
  }

  /** Registers (or replaces) peer `index`: its underlay address (of the TAP's family) and UDP port. */
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

/** Throws TunnelGsoUnavailableError when the namespace's settings would drop what a TAP of `family` injects. */
async function checkHost(netns: string | undefined, name: string, family: 4 | 6): Promise<void> {
  if (family === 4) {
    const rpAll = await readSysctl(netns, 'net/ipv4/conf/all/rp_filter');
    if (rpAll === '0') return;
    throw new TunnelGsoUnavailableError(
      `net.ipv4.conf.all.rp_filter is ${rpAll}: reverse-path filtering would drop the frames weft injects on ${name}`,
      'EINVAL',
    );
  }
  const all = await readSysctl(netns, 'net/ipv6/conf/all/forwarding').catch(() => 'absent');
  if (all === '1') return;
  const force = await readSysctl(netns, 'net/ipv6/conf/default/force_forwarding').catch(() => 'absent');
  if (force !== 'absent') return; // set on the TAP below (Linux >= 6.17)
  throw new TunnelGsoUnavailableError(
    `net.ipv6.conf.all.forwarding is ${all} and the kernel has no per-interface force_forwarding: it would not forward the frames weft injects on ${name}`,
    'EINVAL',
  );
}

function openNative(name: string, opts: TapSenderOptions, family: 4 | 6): NativeTap {
  try {
    return new (addon().NativeTap)({
      name,
      netns: netnsPath(opts.netns),
      encapLength: opts.encapLength,
      family,
      innerMtu: opts.innerMtu ?? 0,
      innerMtu6: opts.innerMtu6 ?? opts.innerMtu ?? 0,
    });
  } catch (e) {
    const err = mapSystemError(e, `tap ${name}`);
    const code = (e as { code?: string }).code;
    if ((e as { syscall?: string }).syscall !== 'TUNSETOFFLOAD') throw err;
    if (code === 'EINVAL')
      throw new TunnelGsoUnavailableError(
        `${err.message}: the kernel has no UDP-tunnel GSO on TUN/TAP (Linux >= 6.17)`,
        code,
      );
    if (code === 'EPROTONOSUPPORT')
      throw new TunnelGsoUnavailableError(
        `${err.message}: the kernel does not fill outer UDP checksums (TUN_F_UDP_TUNNEL_GSO_CSUM), which IPv6 receivers need`,
        code,
      );
    throw err;
  }
}

/** IPv4: forward, accept the local source, no rp_filter; IPv6 off. IPv6: forward, send nothing into the TAP. */
async function configure(netns: string | undefined, name: string, family: 4 | 6): Promise<void> {
  const ns = netns ? ['-n', netns] : [];
  if (family === 4) {
    await run('ip', [...ns, 'link', 'set', 'dev', name, 'up']);
    const conf = `net/ipv4/conf/${name}`;
    await sysctl(netns, [`${conf}/forwarding=1`, `${conf}/accept_local=1`, `${conf}/rp_filter=0`]);
    await sysctl(netns, [`net/ipv6/conf/${name}/disable_ipv6=1`]).catch(() => undefined); // no IPv6: nothing to turn off
    return;
  }
  const conf = `net/ipv6/conf/${name}`;
  // Before IPv6 comes up on it: no link-local address (so no DAD, ND or MLD from one), no RS, no router role.
  await run('ip', [...ns, 'link', 'set', 'dev', name, 'addrgenmode', 'none']);
  await sysctl(netns, [
    `${conf}/accept_ra=0`,
    `${conf}/router_solicitations=0`,
    `${conf}/dad_transmits=0`,
    `${conf}/forwarding=0`,
    `${conf}/disable_ipv6=0`,
  ]);
  await sysctl(netns, [`${conf}/force_forwarding=1`]).catch(async (e) => {
    // Without it the kernel forwards what the TAP injects only when all.forwarding is on; otherwise every IPv6
    // super-packet would vanish uncounted, so refuse the path and let the sockets carry IPv6.
    if ((await readSysctl(netns, 'net/ipv6/conf/all/forwarding').catch(() => 'absent')) === '1') return;
    throw new TunnelGsoUnavailableError(
      `net.ipv6.conf.${name}.force_forwarding=1 failed (${(e as Error).message}) and net.ipv6.conf.all.forwarding is off: the kernel would not forward the frames weft injects`,
      'EINVAL',
    );
  });
  await run('ip', [...ns, 'link', 'set', 'dev', name, 'up']);
}

/**
 * Creates the TAP (IPv4 or IPv6 outer headers, by the family of `source`), checks that the kernel takes
 * UDP-tunnel GSO writes and that its settings let them through, and configures the TAP (see configure()).
 * Throws TunnelGsoUnavailableError when the path cannot work here (the message says why), NotPermittedError
 * without CAP_NET_ADMIN, and the TUN errors of openTun() for the device itself.
 */
export async function openTapSender(opts: TapSenderOptions): Promise<TapSender> {
  const name = opts.name ?? 'weft-gso0';
  checkInterfaceName(name);
  const family = isIPv6(opts.source) ? 6 : 4;
  await checkHost(opts.netns, name, family);
  const native = openNative(name, opts, family);
  try {
    native.setSource(opts.source);
    await configure(opts.netns, name, family);
  } catch (e) {
    native.close();
    throw e instanceof TunnelError ? e : mapSystemError(e, `tap ${name}`);
  }
  return new TapSender(native, opts.batchSize ?? DEFAULT_BATCH_SIZE, family);
}
