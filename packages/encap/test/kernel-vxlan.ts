// Test tooling around the Linux vxlan driver configured the way flanneld's vxlan backend configures it
// (/work/shared/peers/05-kernel-vxlan.sh): two namespaces joined by a veth underlay, `flannel.1` with VNI 1, UDP
// port 8472, `nolearning`, static neighbour and FDB entries and an onlink route per remote node. It captures what
// the kernel puts on the underlay with tcpdump and annotates every field of each frame, so that a fixture can be
// generated with a comment per field and a fresh capture can be compared with it (fields that change from run
// to run are marked and skipped).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabScope, type Netns } from '@weft/lab';
import { readPcap } from './pcap.ts';

/** The topology, as in 05-kernel-vxlan.sh; outer MACs are fixed too so that the fixture is stable. */
export const TOPOLOGY = {
  vni: 1,
  port: 8472,
  a: {
    underlay: '192.0.2.1',
    underlayMac: '02:00:c0:00:02:01',
    vtepMac: '02:00:0a:f4:01:00',
    vtep4: '10.244.1.0',
    vtep6: 'fd00:10:244:1::',
  },
  b: {
    underlay: '192.0.2.2',
    underlayMac: '02:00:c0:00:02:02',
    vtepMac: '02:00:0a:f4:02:00',
    vtep4: '10.244.2.0',
    vtep6: 'fd00:10:244:2::',
  },
} as const;

/** One annotated field: hex bytes, what they are, and whether they change between captures. */
export type Field = readonly [hex: string, note: string, varies?: true];

/** The frames the fixture keeps, by name. */
export const PACKET_KINDS = [
  'icmp4Request',
  'icmp4Reply',
  'icmp6Request',
  'icmp6Reply',
  'arpRequest',
  'arpReply',
] as const;
export type PacketKind = (typeof PACKET_KINDS)[number];

type Node = (typeof TOPOLOGY)['a'] | (typeof TOPOLOGY)['b'];

async function vtep(ns: Netns, me: Node): Promise<void> {
  await ns.ip(['link', 'set', 'eth0', 'address', me.underlayMac]);
  await ns.ip(['addr', 'add', `${me.underlay}/24`, 'dev', 'eth0']);
  await ns.ip([
    'link',
    'add',
    'flannel.1',
    'type',
    'vxlan',
    'id',
    String(TOPOLOGY.vni),
    'dstport',
    String(TOPOLOGY.port),
    'local',
    me.underlay,
    'dev',
    'eth0',
    'nolearning',
  ]);
  await ns.ip(['link', 'set', 'flannel.1', 'addrgenmode', 'none']); // no link-local address: no MLD/RS noise
  await ns.ip(['link', 'set', 'flannel.1', 'address', me.vtepMac, 'mtu', '1450', 'up']);
  await ns.ip(['addr', 'add', `${me.vtep4}/32`, 'dev', 'flannel.1']);
  await ns.ip(['-6', 'addr', 'add', `${me.vtep6}/128`, 'dev', 'flannel.1', 'nodad']);
}

/** What flanneld programs on `ns` for the remote node `peer`. */
async function remote(ns: Netns, peer: Node): Promise<void> {
  await ns.ip(['neigh', 'replace', peer.vtep4, 'lladdr', peer.vtepMac, 'dev', 'flannel.1', 'nud', 'permanent']);
  await ns.ip(['-6', 'neigh', 'replace', peer.vtep6, 'lladdr', peer.vtepMac, 'dev', 'flannel.1', 'nud', 'permanent']);
  await ns.exec([
    'bridge',
    'fdb',
    'append',
    peer.vtepMac,
    'dev',
    'flannel.1',
    'dst',
    peer.underlay,
    'self',
    'permanent',
  ]);
  await ns.ip([
    'route',
    'replace',
    `${peer.vtep4.replace(/\.0$/, '.0/24')}`,
    'via',
    peer.vtep4,
    'dev',
    'flannel.1',
    'onlink',
  ]);
  await ns.ip(['-6', 'route', 'replace', `${peer.vtep6}/64`, 'via', peer.vtep6, 'dev', 'flannel.1', 'onlink']);
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Builds the two nodes in namespaces `wl-SCOPE-a`/`-b` (SCOPE starting `enc-kvx`), captures on node A's underlay while node A pings node
 * B's VTEP address over IPv4 and IPv6 (static neighbours, as flannel does), then deletes A's neighbour entry and
 * adds a flooding FDB entry so that A's kernel ARPs for B's VTEP address, and pings again. Returns the captured
 * underlay frames. Deletes the namespaces before returning, also on failure (the scope's directory of logs is
 * deleted only on success). Needs root, ip, bridge, tcpdump.
 */
export async function captureKernelVxlan(scopeName = 'enc-kvx'): Promise<Buffer[]> {
  const scope = new LabScope(scopeName);
  try {
    const a = await scope.netns('a');
    const b = await scope.netns('b');
    await scope.veth(a, 'eth0', b, 'eth0');
    await vtep(a, TOPOLOGY.a);
    await vtep(b, TOPOLOGY.b);
    await remote(a, TOPOLOGY.b);
    await remote(b, TOPOLOGY.a);
    const file = join(scope.dir, 'underlay.pcap');
    const dump = scope.spawn('tcpdump', a, [
      'tcpdump',
      '-i',
      'eth0',
      '--immediate-mode',
      '-U',
      '-n',
      '-Z',
      'root',
      '-w',
      file,
      `udp port ${TOPOLOGY.port}`,
    ]);
    await waitFor('tcpdump to listen', () => /listening on/.test(dump.log()) || !dump.running);
    const ping = ['ping', '-c', '1', '-W', '2'];
    await a.exec([...ping, TOPOLOGY.b.vtep4]);
    await a.exec([...ping, '-6', TOPOLOGY.b.vtep6]);
    await a.ip(['neigh', 'del', TOPOLOGY.b.vtep4, 'dev', 'flannel.1']);
    await a.exec([
      'bridge',
      'fdb',
      'append',
      '00:00:00:00:00:00',
      'dev',
      'flannel.1',
      'dst',
      TOPOLOGY.b.underlay,
      'self',
      'permanent',
    ]);
    await a.exec([...ping, TOPOLOGY.b.vtep4]);
    await new Promise((r) => setTimeout(r, 200));
    await dump.stop();
    const frames = readPcap(readFileSync(file)).map((r) => r.data);
    rmSync(scope.dir, { recursive: true, force: true }); // logs and capture are kept only when something failed
    return frames;
  } finally {
    await scope.cleanup();
  }
}

const hx = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('hex');
const mac = (b: Buffer, o: number) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ip4 = (b: Buffer, o: number) => [...b.subarray(o, o + 4)].join('.');
const who = (m: string) =>
  ({
    [TOPOLOGY.a.underlayMac]: 'node A eth0',
    [TOPOLOGY.b.underlayMac]: 'node B eth0',
    [TOPOLOGY.a.vtepMac]: 'node A flannel.1',
    [TOPOLOGY.b.vtepMac]: 'node B flannel.1',
    'ff:ff:ff:ff:ff:ff': 'broadcast',
    '00:00:00:00:00:00': 'zero: to be resolved',
  })[m] ?? 'unknown';

/** Annotates an underlay frame carrying VXLAN over IPv4/UDP field by field. Throws on anything else. */
export function annotate(f: Buffer): Field[] {
  const out: Field[] = [];
  let o = 0;
  const put = (n: number, note: string | ((v: Buffer) => string), varies?: true) => {
    const v = f.subarray(o, o + n);
    if (v.length < n)
      throw new Error(`frame ends at ${f.length}, field "${typeof note === 'string' ? note : '?'}" needs ${o + n}`);
    out.push(
      varies
        ? [hx(f, o, o + n), typeof note === 'string' ? note : note(v), true]
        : [hx(f, o, o + n), typeof note === 'string' ? note : note(v)],
    );
    o += n;
  };
  const u16 = (v: Buffer) => v.readUInt16BE(0);
  const ethernet = (layer: string) => {
    put(6, (v) => `${layer} Ethernet destination ${mac(v, 0)} (${who(mac(v, 0))})`);
    put(6, (v) => `${layer} Ethernet source ${mac(v, 0)} (${who(mac(v, 0))})`);
    put(2, (v) => `${layer} EtherType 0x${hx(v, 0, 2)}`);
  };
  const ipv4 = (layer: string) => {
    if (f[o] !== 0x45) throw new Error(`${layer} IPv4 header with options or not IPv4: 0x${f[o]!.toString(16)}`);
    put(1, `${layer} IPv4 version 4, IHL 5 (20 bytes)`);
    put(1, (v) => `${layer} IPv4 DSCP ${v[0]! >> 2}, ECN ${v[0]! & 3}`);
    put(2, (v) => `${layer} IPv4 total length ${u16(v)}`);
    put(2, `${layer} IPv4 identification (differs per packet)`, true);
    put(2, (v) => `${layer} IPv4 flags ${u16(v) & 0x4000 ? 'DF' : 'none'}, fragment offset ${u16(v) & 0x1fff}`);
    put(1, (v) => `${layer} IPv4 TTL ${v[0]}`);
    put(
      1,
      (v) => `${layer} IPv4 protocol ${v[0]} (${({ 1: 'ICMP', 17: 'UDP' } as Record<number, string>)[v[0]!] ?? '?'})`,
    );
    put(2, `${layer} IPv4 header checksum (covers the identification)`, true);
    put(4, (v) => `${layer} IPv4 source ${ip4(v, 0)}`);
    put(4, (v) => `${layer} IPv4 destination ${ip4(v, 0)}`);
  };
  const echo = (layer: string, proto: string, length: number) => {
    put(1, (v) => `${proto} type ${v[0]} (${[0, 129].includes(v[0]!) ? 'echo reply' : 'echo request'})`);
    put(1, (v) => `${proto} code ${v[0]}`);
    put(2, `${proto} checksum (covers the identifier and timestamp)`, true);
    put(2, `${proto} echo identifier (of the ping socket)`, true);
    put(2, (v) => `${proto} echo sequence ${u16(v)}`);
    put(16, `${layer} ping data: struct timeval of the send time`, true);
    put(length - 8 - 16, `${layer} ping data: the pattern bytes 0x10, 0x11, ...`);
  };
  ethernet('outer');
  ipv4('outer');
  put(2, (v) => `UDP source port ${u16(v)} (flow hash of the kernel, in ip_local_port_range)`, true);
  put(2, (v) => `UDP destination port ${u16(v)} (VXLAN port of flannel)`);
  put(2, (v) => `UDP length ${u16(v)}`);
  // With udpcsum (the default), the driver leaves the checksum to offload (CHECKSUM_PARTIAL): the field holds only
  // the pseudo-header sum, and veth hands the frame over without ever completing it.
  put(
    2,
    (v) =>
      `UDP checksum field 0x${hx(v, 0, 2)}: the pseudo-header sum only (checksum offload, never completed on veth)`,
  );
  put(1, (v) => `VXLAN flags 0x${hx(v, 0, 1)} (I: VNI valid)`);
  put(3, 'VXLAN reserved');
  put(3, (v) => `VXLAN VNI ${v.readUIntBE(0, 3)}`);
  put(1, 'VXLAN reserved');
  ethernet('inner');
  const type = f.readUInt16BE(o - 2);
  if (type === 0x0800) {
    const start = o;
    ipv4('inner');
    echo('inner', 'ICMPv4', f.readUInt16BE(start + 2) - 20);
  } else if (type === 0x86dd) {
    put(
      4,
      (v) => `inner IPv6 version 6, traffic class ${(v.readUInt32BE(0) >>> 20) & 0xff}, flow label (hashed per flow)`,
      true,
    );
    put(2, (v) => `inner IPv6 payload length ${u16(v)}`);
    put(1, (v) => `inner IPv6 next header ${v[0]} (ICMPv6)`);
    put(1, (v) => `inner IPv6 hop limit ${v[0]}`);
    put(16, 'inner IPv6 source (node A flannel.1 or B)');
    put(16, 'inner IPv6 destination');
    echo('inner', 'ICMPv6', f.readUInt16BE(o - 36));
  } else if (type === 0x0806) {
    put(2, (v) => `ARP hardware type ${u16(v)} (Ethernet)`);
    put(2, (v) => `ARP protocol type 0x${hx(v, 0, 2)} (IPv4)`);
    put(1, (v) => `ARP hardware address length ${v[0]}`);
    put(1, (v) => `ARP protocol address length ${v[0]}`);
    put(2, (v) => `ARP operation ${u16(v)} (${u16(v) === 1 ? 'request' : 'reply'})`);
    put(6, (v) => `ARP sender MAC ${mac(v, 0)} (${who(mac(v, 0))})`);
    put(4, (v) => `ARP sender IP ${ip4(v, 0)}`);
    put(6, (v) => `ARP target MAC ${mac(v, 0)} (${who(mac(v, 0))})`);
    put(4, (v) => `ARP target IP ${ip4(v, 0)}`);
  } else throw new Error(`inner EtherType 0x${type.toString(16)}`);
  if (o < f.length) put(f.length - o, 'trailing bytes');
  return out;
}

/** Which fixture kind an annotated frame is, or null for frames the fixture does not keep. */
export function kindOf(fields: readonly Field[]): PacketKind | null {
  const notes = fields.map((f) => f[1]).join('\n');
  const v4 = notes.includes('ICMPv4 type'),
    v6 = notes.includes('ICMPv6 type');
  if (/ICMPv4 type 8 /.test(notes) && v4) return 'icmp4Request';
  if (/ICMPv4 type 0 /.test(notes) && v4) return 'icmp4Reply';
  if (/ICMPv6 type 128 /.test(notes) && v6) return 'icmp6Request';
  if (/ICMPv6 type 129 /.test(notes) && v6) return 'icmp6Reply';
  if (notes.includes('ARP operation 1 ')) return 'arpRequest';
  if (notes.includes('ARP operation 2 ')) return 'arpReply';
  return null;
}

/** The first frame of each kind, annotated. Throws if a kind is missing. */
export function pickPackets(frames: readonly Buffer[]): Record<PacketKind, Field[]> {
  const found: Partial<Record<PacketKind, Field[]>> = {};
  for (const f of frames) {
    const fields = annotate(f);
    const kind = kindOf(fields);
    if (kind && !found[kind]) found[kind] = fields;
  }
  const missing = PACKET_KINDS.filter((k) => !found[k]);
  if (missing.length) throw new Error(`capture lacks ${missing.join(', ')} (${frames.length} frames captured)`);
  return found as Record<PacketKind, Field[]>;
}

/** The whole frame of annotated fields. */
export const frameOf = (fields: readonly Field[]): Buffer => Buffer.from(fields.map((f) => f[0]).join(''), 'hex');
