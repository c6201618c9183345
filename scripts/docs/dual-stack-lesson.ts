// The dual-stack lesson's text: hand-written prose around what dual-stack-capture.ts recorded. What flanneld would
// program for the same leases (flannel.1 and flannel-v6.1) is derived from the lease values read from etcd.
import { banner, fence, packetSection, table } from './format.ts';
import type { DualStackCapture } from './dual-stack-capture.ts';

export const DUAL_STACK_FILE = 'dual-stack.md';
export const DUAL_STACK_TITLE = 'Dual stack: one lease, two families, a ping in each';
export const DUAL_STACK_SUMMARY =
  "flannel's dual-stack lease (`V4NET-LEN&V6NET-LEN`) in etcd, subnet.env's IPv6 keys, the routes of both families, and one ping per family with its bytes (50 added over IPv4, 70 over IPv6).";

interface LeaseValue {
  PublicIP?: string;
  PublicIPv6?: string;
  BackendType?: string;
  BackendData?: { VNI?: number; VtepMAC?: string };
  BackendV6Data?: { VNI?: number; VtepMAC?: string };
}

/** "/coreos.com/network/subnets/10.244.5.0-24&fd00:10:244:5::-64" -> ["10.244.5.0/24", "fd00:10:244:5::/64"]. */
export function leaseSubnets(key: string): [string | undefined, string | undefined] {
  const [v4, v6] = (key.split('/').at(-1) ?? '').split('&');
  const cidr = (s: string | undefined) => (s ? s.replace(/-(\d+)$/, '/$1') : undefined);
  return [cidr(v4), cidr(v6)];
}

const parse = (value: string): LeaseValue => {
  try {
    return JSON.parse(value) as LeaseValue;
  } catch {
    return {};
  }
};

/** The commands flanneld's vxlan backend runs on `node` for each other node's lease, both devices. */
function flannelEquivalent(c: DualStackCapture, node: string): string {
  const self = c.lab.nodes.find((n) => n.name === node)!;
  const lines: string[] = [];
  for (const l of c.leases) {
    const v = parse(l.value);
    if (v.PublicIP === self.underlayIp) continue;
    const [s4, s6] = leaseSubnets(l.key);
    if (s4 && v.BackendData?.VtepMAC) {
      const vtep = s4.split('/')[0];
      lines.push(
        `ip neigh replace ${vtep} lladdr ${v.BackendData.VtepMAC} dev flannel.1 nud permanent`,
        `bridge fdb append ${v.BackendData.VtepMAC} dev flannel.1 dst ${v.PublicIP} self permanent`,
        `ip route replace ${s4} via ${vtep} dev flannel.1 onlink`,
      );
    }
    if (s6 && v.BackendV6Data?.VtepMAC) {
      const vtep = s6.split('/')[0];
      lines.push(
        `ip -6 neigh replace ${vtep} lladdr ${v.BackendV6Data.VtepMAC} dev flannel-v6.1 nud permanent`,
        `bridge fdb append ${v.BackendV6Data.VtepMAC} dev flannel-v6.1 dst ${v.PublicIPv6} self permanent`,
        `ip -6 route replace ${s6} via ${vtep} dev flannel-v6.1 onlink`,
      );
    }
  }
  return lines.join('\n');
}

function labTable(c: DualStackCapture): string {
  return table(
    ['node', 'underlay IPv4', 'underlay IPv6', 'IPv4 subnet', 'IPv6 subnet', 'pod n?p1'],
    c.lab.nodes.map((n) => [
      n.name,
      n.underlayIp,
      n.underlayIp6 ?? '-',
      n.subnet ?? '-',
      n.subnet6 ?? '-',
      `${n.pods[0]?.ip} ${n.pods[0]?.ip6 ?? ''}`.trim(),
    ]),
  );
}

function forwardingTable(c: DualStackCapture): string {
  const rows = c.statuses.flatMap((s) =>
    s.routes.map((r) => [s.node, r.subnet.includes(':') ? 'IPv6' : 'IPv4', r.subnet, r.via, r.vtepMac ?? '-']),
  );
  return table(['on node', 'family', 'peer subnet', 'via (peer underlay)', 'peer VTEP MAC'], rows);
}

const legOf = (t: DualStackCapture['trace4'], iface: string) =>
  t.legs.find((l) => (l.node === 'n1' || iface === 'eth0') && l.leg.iface === iface && l.leg.kind === 'request')?.leg;

function storeSection(c: DualStackCapture): string[] {
  return [
    '## 1. The configuration and the leases in etcd',
    '',
    "The network's configuration (`/coreos.com/network/config`) turns IPv6 on beside IPv4: `EnableIPv6` and the IPv6 cluster network, from which each node gets a /64 (flannel's default `IPv6SubnetLen`):",
    '',
    fence(c.config, 'json'),
    '',
    "Each node holds one lease for both families. Its key joins the two subnets with `&`, each written as flannel's `NETWORK-LENGTH` (`V4NET-LEN&V6NET-LEN`, flannel's `MakeSubnetKey`); the value adds `PublicIPv6` (the node's IPv6 underlay address) and `BackendV6Data` (the VNI and the MAC of the IPv6 VTEP, which is a device of its own in flannel) beside the IPv4 fields. Every lease key in etcd in this run (`etcdctl get --prefix /coreos.com/network/subnets/`):",
    '',
    table(
      ['key', 'value'],
      c.leases.map((l) => [`\`${l.key}\``, `\`${l.value}\``]),
    ),
    '',
    "n1's subnet.env gains flannel's IPv6 keys, which the CNI plugin reads to give each pod an address of each family:",
    '',
    fence(c.subnetEnv, 'sh'),
  ];
}

function routesSection(c: DualStackCapture): string[] {
  const r = c.routes.n1!;
  return [
    '## 2. The routes of both families',
    '',
    "On a kernel flannel node each family has its own VXLAN device: `flannel.1` for IPv4 (over the IPv4 underlay) and `flannel-v6.1` for IPv6 (over the IPv6 underlay, MTU 20 bytes smaller: an IPv6 header is 40 bytes where IPv4's is 20). For every other node's lease flanneld writes a neighbour entry, an FDB entry and an onlink route on each device. From the two lease values above, on n1 that would be:",
    '',
    fence(flannelEquivalent(c, 'n1'), 'sh'),
    '',
    `weft does the same with one TUN, \`flannel0\`, carrying both families: the kernel routes each cluster network into it (\`ip -4 route\`, \`ip -6 route\` on n1 in this run), and the agent keeps the peers, their underlay addresses and VTEP MACs per family in its forwarding table (the routes of each agent's /status below). On the wire the result is the same as flanneld's two devices: VXLAN over IPv4 between the IPv4 VTEP MACs, VXLAN over IPv6 between the IPv6 VTEP MACs.`,
    '',
    fence(`# ip -4 route   (in node n1)\n${r.v4}\n\n# ip -6 route   (in node n1)\n${r.v6}`),
    '',
    forwardingTable(c),
  ];
}

function pingSection(c: DualStackCapture): string[] {
  const wire4 = legOf(c.trace4, 'wire');
  const tun6 = legOf(c.trace6, 'tun');
  const eth6 = legOf(c.trace6, 'eth0');
  return [
    '## 3. One ping per family',
    '',
    '`weft trace n1p1 n2p1` (IPv4) and `weft trace n1p1 n2p1 --ipv6`, as printed in this run:',
    '',
    fence(c.trace4.lines.join('\n')),
    '',
    fence(c.trace6.lines.join('\n')),
    '',
    ...packetSection(
      'The IPv4 request on the wire',
      wire4,
      'The capture\'s "wire" side of n1\'s agent (outer IPv4 and UDP as the kernel sends them) has',
      false,
    ),
    '',
    ...packetSection(
      'The IPv6 request on the underlay',
      eth6,
      "The IPv6 ping leaves over the IPv6 underlay; tcpdump on n1's eth0 saw the Ethernet frame:",
      false,
    ),
    '',
    `Bytes added: IPv4 **${c.trace4.bytesAdded}** (VXLAN 8 and inner Ethernet 14 written by weft, UDP 8 and IPv4 20 by the kernel); IPv6 ${eth6 ? `${eth6.length} - 14 (Ethernet) - ${tun6?.length ?? '?'} (the packet read from flannel0) = ` : ''}**${c.trace6.bytesAdded}** (the same 22 from weft, UDP 8 and IPv6 40 from the kernel). The inner Ethernet header's type says which family follows (0x0800 or 0x86dd) and its addresses are that family's VTEP MACs, as on flannel.1 and flannel-v6.1.`,
  ];
}

/** docs/dual-stack.md. */
export function dualStackLesson(c: DualStackCapture, when: Date): string {
  return [
    banner(DUAL_STACK_TITLE, when),
    '',
    `flannel runs IPv4-only, dual-stack and IPv6-only clusters; this lesson follows a dual-stack one. The lab: two nodes with an IPv4 and an IPv6 underlay address each, the ${c.backend} backend, leases in etcd in flannel's layout, pods with one address of each family (from the CNI plugin).`,
    '',
    labTable(c),
    '',
    ...storeSection(c),
    '',
    ...routesSection(c),
    '',
    ...pingSection(c),
    '',
  ].join('\n');
}
