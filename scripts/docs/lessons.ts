// The lessons' text: hand-written prose and diagrams around the tables, routes and bytes of a LessonCapture.
import type { ExplainedPacket } from '@weft/explain';
import type { PingLeg } from 'weft/trace-capture';
import { banner, explained, fence, oneLine, packetSection, table } from './format.ts';
import type { LessonCapture } from './capture.ts';

export interface LessonSpec {
  file: string;
  title: string;
  lab: string;
  backend: 'udp' | 'vxlan' | 'native';
  routeSync: 'lease' | 'bgp';
  /** One line for the index. */
  summary: string;
  intro: string;
  diagram: string;
}

const leg = (c: LessonCapture, node: string, iface: string, kind: 'request' | 'reply'): PingLeg | undefined =>
  c.trace.legs.find((l) => (l.node === node || iface === 'eth0') && l.leg.iface === iface && l.leg.kind === kind)?.leg;

function labTable(c: LessonCapture): string {
  return table(
    ['node', 'underlay (eth0)', 'leased subnet', 'pod', 'VTEP MAC', 'pod MTU'],
    c.lab.nodes.map((n) => {
      const s = c.statuses.find((x) => x.node === n.name);
      return [
        n.name,
        n.underlayIp,
        n.subnet ?? '-',
        `${n.pods[0]?.name} ${n.pods[0]?.ip}`,
        s?.lease?.vtepMac ?? '-',
        s?.mtu ?? '-',
      ];
    }),
  );
}

function forwardingTable(c: LessonCapture): string {
  const rows = c.statuses.flatMap((s) => s.routes.map((r) => [s.node, r.subnet, r.via, r.vtepMac ?? '-']));
  return table(['on node', 'peer subnet', 'via (peer underlay)', 'peer VTEP MAC'], rows);
}

function counterTable(c: LessonCapture): string {
  const keys = ['tx_packets', 'tx_bytes', 'rx_packets', 'rx_bytes', 'tun_read_packets', 'udp_read_packets'];
  return table(
    ['counter', ...c.statuses.map((s) => s.node)],
    keys.map((k) => [k, ...c.statuses.map((s) => s.counters[k] ?? 0)]),
  );
}

function bytesSection(s: LessonSpec, c: LessonCapture): string[] {
  if (s.backend === 'native') {
    return [
      ...packetSection(
        'The request on the underlay',
        leg(c, 'n1', 'eth0', 'request'),
        "tcpdump on n1's eth0 saw the Ethernet frame of the request:",
      ),
      '',
      "The IP source and destination are the pods' own addresses: nothing was added, so the pod MTU can be the underlay's.",
    ];
  }
  const tun = leg(c, 'n1', 'tun', 'request');
  const wire = leg(c, 'n1', 'wire', 'request');
  const added = tun && wire ? wire.length - tun.length : c.trace.bytesAdded;
  return [
    ...packetSection(
      'The request as weft read it from the TUN',
      tun,
      "The agent on n1 read the pod's IP packet from flannel0:",
    ),
    '',
    ...packetSection(
      'The same request on the wire',
      wire,
      'The agent on n1 sent it to its peer; the capture\'s "wire" side (outer IPv4 and UDP header synthesized by the capture writer, as the kernel sends them) has',
    ),
    '',
    `Bytes added: ${wire?.length ?? '?'} - ${tun?.length ?? '?'} = **${added}** (${s.backend === 'vxlan' ? '22 written by weft (VXLAN 8, inner Ethernet 14) and 28 by the kernel (UDP 8, IPv4 20)' : 'UDP 8 and IPv4 20, both written by the kernel: weft hands the packet to the socket as it is'}); the underlay adds its own 14-byte Ethernet header on top.`,
  ];
}

/** A backend lesson: banner, intro, diagram, the lab, routes, the trace, the bytes. */
export function backendLesson(s: LessonSpec, c: LessonCapture, when: Date): string {
  const routes = Object.entries(c.kernelRoutes)
    .map(([n, r]) => `# ip route   (in node ${n})\n${r}`)
    .join('\n\n');
  const parts = [
    banner(s.title, when),
    '',
    s.intro,
    '',
    '## The path of a packet',
    '',
    fence(s.diagram),
    '',
    `## The lab of this run (\`${c.lab.name}\`: ${s.backend} backend, routes from ${s.routeSync === 'bgp' ? 'BGP' : 'leases'})`,
    '',
    labTable(c),
    '',
    "## The forwarding table (each agent's /status)",
    '',
    forwardingTable(c),
    '',
    '## The kernel routes',
    '',
    fence(routes),
    '',
    s.backend === 'native'
      ? "The peer subnet is routed `via` the peer's underlay address on eth0: the kernel forwards the packet itself, and the agent only keeps these routes in line with the leases (or BGP)."
      : "The whole cluster network goes to `flannel0`, the agent's TUN: the kernel hands every packet for another node to weft, which picks the peer from its forwarding table.",
    '',
    ...(c.lab.routeSync === 'bgp' ? [bgpSessionTable(c), ''] : []),
    '## `weft trace n1p1 n2p1`',
    '',
    'One ping, hop by hop, as `weft trace` printed it in this run:',
    '',
    fence(c.trace.lines.join('\n')),
    '',
    ...(s.backend === 'native'
      ? []
      : ['Counters of both agents after the trace (`/status`):', '', counterTable(c), '']),
    '## The bytes',
    '',
    ...bytesSection(s, c),
    '',
  ];
  return parts.join('\n');
}

export function bgpSessionTable(c: LessonCapture): string {
  const rows = c.statuses.flatMap((s) =>
    (s.bgp ?? []).map((b) => [s.node, b.address, b.as, b.state, b.prefixesReceived, b.prefixesSent]),
  );
  return [
    "### BGP sessions (each agent's /status)",
    '',
    table(['on node', 'peer', 'AS', 'state', 'prefixes received', 'prefixes sent'], rows),
  ].join('\n');
}

const bgpKind = (p: ExplainedPacket) => p.find((l) => l.name === 'bgp')?.title ?? 'BGP';
const frameNumber = (p: ExplainedPacket) => p[0]!.fields.find((f) => f.name === 'frame.number')?.value ?? '?';

/** What an UPDATE announces or withdraws, or what a NOTIFICATION says, in a few words. */
function bgpContent(l: ExplainedPacket[number]): string {
  const vals = (name: string) => l.fields.filter((f) => f.name === name).map((f) => String(f.value));
  if (/NOTIFICATION/.test(l.title))
    return `: ${l.fields
      .filter((f) => f.name.startsWith('bgp.notify.'))
      .map((f) => f.meaning)
      .join('; ')}`;
  if (!/UPDATE/.test(l.title)) return '';
  const reach = [...vals('bgp.nlri_prefix'), ...vals('bgp.mp_reach_nlri_prefix')];
  const gone = [...vals('bgp.withdrawn_prefix'), ...vals('bgp.mp_unreach_nlri.withdrawn_prefix')];
  const hop = [
    ...vals('bgp.update.path_attribute.next_hop'),
    ...vals('bgp.update.path_attribute.mp_reach_nlri_next_hop'),
  ][0];
  if (reach.length) return `: ${reach.join(', ')} via ${hop ?? '?'}`;
  if (gone.length) return `: withdraws ${gone.join(', ')}`;
  return vals('bgp.update.path_attribute').length
    ? ': no prefixes (End-of-RIB of a multiprotocol family)'
    : ': empty (End-of-RIB, IPv4 unicast)';
}

/** The BGP lesson: the messages of a session coming up, captured on n1's eth0. */
export function bgpLesson(c: LessonCapture, when: Date, diagram: string): string {
  const msgs = c.bgp ?? [];
  const first = (re: RegExp) => msgs.find((p) => p.some((l) => l.name === 'bgp' && re.test(l.title)));
  const pick: [string, RegExp, string][] = [
    [
      'OPEN',
      /OPEN/,
      'Each side opens with its version, AS, hold time and BGP identifier, then the capabilities it speaks (RFC 4271 §4.2, RFC 5492).',
    ],
    [
      'KEEPALIVE',
      /KEEPALIVE/,
      'A KEEPALIVE answers an acceptable OPEN (the session goes to Established) and then keeps the hold timer from expiring: a 19-byte header and nothing else (RFC 4271 §4.4).',
    ],
    [
      'UPDATE',
      /UPDATE/,
      "The UPDATE carries the node's pod subnet as NLRI with ORIGIN, AS_PATH (empty inside one AS), NEXT_HOP = the node's underlay address and LOCAL_PREF (RFC 4271 §4.3, §5.1).",
    ],
    [
      'NOTIFICATION',
      /NOTIFICATION/,
      'The agent stopped with SIGTERM said goodbye with a NOTIFICATION Cease before closing the TCP connection (RFC 4271 §4.5, RFC 4486).',
    ],
  ];
  const seq = msgs.map((p) => {
    const ip = (n: string) => p.flatMap((l) => l.fields).find((f) => f.name === n)?.value;
    return [
      frameNumber(p),
      ip('ip.src') ?? '?',
      ip('ip.dst') ?? '?',
      p
        .filter((l) => l.name === 'bgp')
        .map((l) => `${l.title}${bgpContent(l)}`)
        .join(' + '),
    ];
  });
  return [
    banner('BGP sessions between weft agents', when),
    '',
    "With `--route-sync bgp` every agent runs a BGP-4 speaker (packages/route-sync) and, as Calico does, the nodes form a full iBGP mesh in AS 64512 on TCP port 179. Each agent advertises its leased pod subnet with itself as the next hop; what it learns becomes a kernel route (native) or a forwarding-table entry (udp, vxlan). To read the codec, follow packages/route-sync/src/codec/README.md; to peer with BIRD, see the recipes in the project's peers notes.",
    '',
    '## How a session comes up',
    '',
    fence(diagram),
    '',
    `## The sessions in this run (lab \`${c.lab.name}\`)`,
    '',
    bgpSessionTable(c),
    '',
    '## The messages on the wire',
    '',
    "tcpdump listened on n1's eth0 while the agent on n2 was stopped and started again; every TCP segment carrying BGP, in order:",
    '',
    table(['packet', 'from', 'to', 'BGP messages'], seq),
    '',
    ...pick.flatMap(([name, re, text]) => {
      const p = first(re);
      if (!p) return [`### ${name}`, '', `(no ${name} in this run's capture)`, ''];
      const tcp = p.find((l) => l.name === 'bgp');
      return [
        `### ${name}`,
        '',
        text,
        '',
        `First seen in packet ${frameNumber(p)}: \`${oneLine(p)}\`. The ${bgpKind(p)} starts at offset 0x${tcp!.offset.toString(16)} of the Ethernet frame.`,
        '',
        explained(p),
        '',
      ];
    }),
  ].join('\n');
}

/** docs/README.md: the index; `extra` lessons (the control plane) come after the packet lessons. */
export function indexPage(
  specs: LessonSpec[],
  when: Date,
  extra: { file: string; title: string; summary: string }[] = [],
): string {
  return [
    banner('weft lessons', when),
    '',
    'Each lesson follows one ping between two pods of a two-node lab through one backend, with the routes, tables and bytes of a real run. Read them in this order:',
    '',
    ...specs.map((s, i) => `${i + 1}. [${s.title}](${s.file}): ${s.summary}`),
    `${specs.length + 1}. [BGP sessions between weft agents](bgp-sessions.md): OPEN, KEEPALIVE, UPDATE and NOTIFICATION bytes of a session between two agents.`,
    ...extra.map((e, i) => `${specs.length + 2 + i}. [${e.title}](${e.file}): ${e.summary}`),
    '',
    'Tools used along the way: `weft lab up --name NAME --pcap DIR`, `weft trace POD POD --lab NAME`, `weft explain FILE.pcapng`.',
    '',
  ].join('\n');
}
