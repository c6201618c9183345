// The TAP tests' lab, shared by the IPv4 and IPv6 outer-header tests: inner TCP packets laid out as a whole-mode
// TUN hands them over (virtio header, inner IP/TCP, VXLAN and inner Ethernet in front), and an underlay veth whose
// far end holds the kernel's flannel vxlan device at its defaults. weft's end of the veth is set one of two ways
// (WEFT_OFFLOADS): every offload at its default, or tx offloads off; tap-wire.ts says what each case checks.
import { LabScope, type Netns } from '@weft/lab';
import type { PacketBatch } from '../../src/index.ts';

export const HEADROOM = 80;
export const SLOT = HEADROOM + 65536 + 64;
export const VXLAN_LEN = 22; // 8 VXLAN + 14 inner Ethernet
/** The inner TCP sequence number of the first payload byte of every packet these tests build. */
export const FIRST_SEQ = 1000;

/** One address family's side of the lab: underlay addresses, flannel's device and the pods behind it. */
export interface TapFamily {
  family: 4 | 6;
  /** weft's underlay address (eth0 in a) and the kernel peer's (eth0 in b), with their prefix length. */
  source: string;
  peer: string;
  prefix: number;
  /** MSS of the super-packets: at most 1500 minus the outer and inner headers. */
  mss: number;
  /** Inner IP + TCP header bytes (what flannel's device counts besides the payload). */
  innerHeaders: number;
  /** flannel's device in b, its MTU and MAC, and the MAC of weft's VTEP. */
  vtep: string;
  vtepMtu: number;
  peerMac: string;
  ourMac: string;
  /** b's pod address on the vxlan device; a's subnet and gateway address, routed through it. */
  vtepAddr: string;
  ourSubnet: string;
  ourGateway: string;
  /** Inner source (a pod behind weft) and destination (b's vtepAddr) as bytes. */
  podSrc: number[];
  podDst: number[];
}

export const V4: TapFamily = {
  family: 4,
  source: '192.0.2.1',
  peer: '192.0.2.2',
  prefix: 24,
  mss: 1398,
  innerHeaders: 40,
  vtep: 'flannel.1',
  vtepMtu: 1450,
  peerMac: '02:00:0a:f4:02:00',
  ourMac: '02:00:0a:f4:01:00',
  vtepAddr: '10.244.2.0/32',
  ourSubnet: '10.244.1.0/24',
  ourGateway: '10.244.1.0',
  podSrc: [10, 244, 1, 5],
  podDst: [10, 244, 2, 0],
};

export const V6: TapFamily = {
  family: 6,
  source: '2001:db8:1::1',
  peer: '2001:db8:1::2',
  prefix: 64,
  mss: 1370, // 1500 - 70 (outer IPv6 + UDP + VXLAN + inner Ethernet) - 60 (inner IPv6 + TCP)
  innerHeaders: 60,
  vtep: 'flannel-v6.1',
  vtepMtu: 1430,
  peerMac: '02:00:0a:f4:02:06',
  ourMac: '02:00:0a:f4:01:06',
  vtepAddr: 'fd00:244:2::/128',
  ourSubnet: 'fd00:244:1::/64',
  ourGateway: 'fd00:244:1::',
  podSrc: [0xfd, 0, 2, 0x44, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], // fd00:244:1::5
  podDst: [0xfd, 0, 2, 0x44, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // fd00:244:2::
};

/** weft's underlay veth (eth0 in a): every offload at its default, or tx offloads off. */
export type WeftOffloads = 'defaults' | 'tx offloads off';
export const WEFT_OFFLOADS: readonly WeftOffloads[] = ['defaults', 'tx offloads off'];

/** The one's-complement sum of b[from..to) (big-endian 16-bit words, an odd tail padded), folded, plus `acc`. */
export function sum16(b: ArrayLike<number>, from: number, to: number, acc = 0): number {
  for (let i = from; i < to; i += 2) acc += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((x) => Number.parseInt(x, 16));
}

/**
 * Slot `i` as a whole-mode TUN leaves it: the 10-byte virtio header at the slot's start (GSO TCP of the family
 * with gso_size `fam.mss` when `gso`, NEEDS_CSUM either way, the TCP checksum field holding only the pseudo-header
 * sum), the inner IP/TCP packet (`payload` bytes after the TCP header) at the headroom, then VXLAN (VNI 1) and
 * the inner Ethernet in front. `csumStart` overrides the checksum start (to build malformed metadata).
 */
export function putInner(
  batch: PacketBatch,
  i: number,
  fam: TapFamily,
  payload: number,
  gso: boolean,
  csumStart?: number,
): void {
  const s = batch.slab;
  const ipLen = fam.family === 4 ? 20 : 40;
  const vh = new DataView(s.buffer, i * SLOT, 10);
  vh.setUint8(0, 1);
  vh.setUint8(1, gso ? (fam.family === 4 ? 1 : 4) : 0);
  vh.setUint16(2, ipLen + 20, true);
  vh.setUint16(4, gso ? fam.mss : 0, true);
  vh.setUint16(6, csumStart ?? ipLen, true);
  vh.setUint16(8, 16, true);
  const ip = i * SLOT + HEADROOM;
  const tcpLen = 20 + payload;
  if (fam.family === 4) {
    const total = 20 + tcpLen;
    s.set([0x45, 0, total >> 8, total & 0xff, 0, 1, 0, 0, 64, 6, 0, 0, ...fam.podSrc, ...fam.podDst], ip);
    const hc = 0xffff - sum16(s, ip, ip + 20);
    s.set([hc >> 8, hc & 0xff], ip + 10);
  } else {
    s.set([0x60, 0, 0, 0, tcpLen >> 8, tcpLen & 0xff, 6, 64, ...fam.podSrc, ...fam.podDst], ip);
  }
  const tcp = ip + ipLen;
  const seq = [FIRST_SEQ >>> 24, (FIRST_SEQ >> 16) & 0xff, (FIRST_SEQ >> 8) & 0xff, FIRST_SEQ & 0xff];
  s.set([0x04, 0xd2, 0x13, 0x89, ...seq, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], tcp);
  for (let k = 0; k < payload; k++) s[tcp + 20 + k] = (k * 7) & 0xff;
  const addrs = fam.family === 4 ? ip + 12 : ip + 8;
  const pseudo = sum16(s, addrs, tcp, 6 + tcpLen);
  s.set([pseudo >> 8, pseudo & 0xff], tcp + 16);
  const start = ip - VXLAN_LEN;
  const type = fam.family === 4 ? [0x08, 0x00] : [0x86, 0xdd];
  s.set([0x08, 0, 0, 0, 0, 0, 1, 0, ...macBytes(fam.peerMac), ...macBytes(fam.ourMac), ...type], start);
  batch.offsets[i] = start;
  batch.lengths[i] = VXLAN_LEN + ipLen + tcpLen;
  batch.peers[i] = 0;
}

export interface TapLab {
  scope: LabScope;
  /** weft's namespace (eth0 = fam.source) and the kernel peer's (eth0 = fam.peer). */
  a: Netns;
  b: Netns;
}

/** Two namespaces joined by a veth (eth0 each side) with the family's underlay addresses, both at defaults. */
export async function tapUnderlay(scopeName: string, fam: TapFamily): Promise<TapLab> {
  const scope = new LabScope(scopeName);
  const a = await scope.netns('a');
  const b = await scope.netns('b');
  await scope.veth(a, 'eth0', b, 'eth0');
  const dad = fam.family === 6 ? ['nodad'] : []; // the address is usable at once
  for (const [ns, addr] of [
    [a, fam.source],
    [b, fam.peer],
  ] as const)
    await ns.ip(['addr', 'add', `${addr}/${fam.prefix}`, 'dev', 'eth0', ...dad]);
  return { scope, a, b };
}

/** flannel's vxlan device in b as flanneld programs it, a's VTEP its one remote; all offloads at defaults. */
async function kernelVtep(b: Netns, fam: TapFamily): Promise<void> {
  const dev = fam.vtep;
  await b.ipBatch([
    `link add ${dev} type vxlan id 1 dstport 8472 local ${fam.peer} dev eth0 nolearning`,
    `link set ${dev} address ${fam.peerMac} mtu ${fam.vtepMtu} up`,
    `addr add ${fam.vtepAddr} dev ${dev}${fam.family === 6 ? ' nodad' : ''}`,
    `neigh replace ${fam.ourGateway} lladdr ${fam.ourMac} dev ${dev} nud permanent`,
    `route replace ${fam.ourSubnet} via ${fam.ourGateway} dev ${dev} onlink`,
  ]);
  await b.exec(['bridge', 'fdb', 'append', fam.ourMac, 'dev', dev, 'dst', fam.source, 'self', 'permanent']);
}

/** Sets weft's underlay veth: left alone at 'defaults'; else the kernel segments and checksums in software. */
async function setWeftOffloads(a: Netns, mode: WeftOffloads): Promise<void> {
  if (mode === 'defaults') return;
  const off = ['tx', 'off', 'tx-udp_tnl-segmentation', 'off', 'tx-udp_tnl-csum-segmentation', 'off'];
  await a.exec(['ethtool', '-K', 'eth0', ...off]);
}

/**
 * Runs `body` on a fresh underlay (scope `scopeName`) with flannel's device in b and weft's veth set to `mode`;
 * the scope is torn down whatever `body` does.
 */
export async function withVtepLab(
  scopeName: string,
  fam: TapFamily,
  mode: WeftOffloads,
  body: (lab: TapLab) => Promise<void>,
): Promise<void> {
  const lab = await tapUnderlay(scopeName, fam);
  try {
    await kernelVtep(lab.b, fam);
    await setWeftOffloads(lab.a, mode);
    await body(lab);
  } finally {
    await lab.scope.cleanup();
  }
}
