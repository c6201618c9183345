// `npm run docs [-- --out DIR] [--only udp,vxlan,native,native-bgp,control-plane,dual-stack] [--lab-prefix doc]`:
// brings up one two-node lab per lesson, traces a ping (or, for the control plane, records the store, subnet.env,
// a CNI ADD and the masquerade rules; for dual stack, the leases, both families' routes and a ping per family),
// captures, and writes the lessons (docs/*.md and docs/README.md). Needs root (network namespaces). Labs are
// named doc* and torn down as each lesson is done, also on failure (and by the lab's exit handlers on SIGINT/SIGTERM).
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { captureLesson } from './capture.ts';
import { backendLesson, bgpLesson, indexPage, type LessonSpec } from './lessons.ts';
import { DIAGRAMS, BGP_DIAGRAM } from './diagrams.ts';
import { captureControlPlane } from './control-capture.ts';
import { CONTROL_FILE, CONTROL_SUMMARY, CONTROL_TITLE, controlLesson } from './control-lesson.ts';
import { captureDualStack } from './dual-stack-capture.ts';
import { DUAL_STACK_FILE, DUAL_STACK_SUMMARY, DUAL_STACK_TITLE, dualStackLesson } from './dual-stack-lesson.ts';

const SPECS: LessonSpec[] = [
  {
    file: 'udp.md',
    title: 'The udp backend: the IP packet in a UDP datagram',
    lab: 'udp',
    backend: 'udp',
    routeSync: 'lease',
    summary: "flannel's udp format: the bare IP packet as the payload of UDP port 8285, 28 bytes added.",
    intro:
      "flannel's original backend. The agent owns a TUN device, `flannel0`; the kernel routes the whole cluster network into it. The agent reads each packet, looks its destination up in the forwarding table built from the other nodes' leases, and sends the packet, unchanged, as the payload of a UDP datagram to that node's port 8285. The receiving agent writes the payload to its own TUN and the kernel delivers it to the pod.",
    diagram: DIAGRAMS.udp,
  },
  {
    file: 'vxlan.md',
    title: 'The vxlan backend: an Ethernet frame in VXLAN in UDP',
    lab: 'vx',
    backend: 'vxlan',
    routeSync: 'lease',
    summary: "VXLAN (RFC 7348) on UDP 8472 the way flannel's kernel vxlan backend puts it on the wire, 50 bytes added.",
    intro:
      "The format the Linux vxlan driver speaks and flannel configures: the pod's IP packet gets an inner Ethernet header (from this node's VTEP MAC to the peer's), an 8-byte VXLAN header with the VNI, then UDP to port 8472 and IPv4 to the peer. weft does this in userspace from the same TUN device as the udp backend, so a weft node and a kernel flannel node interoperate. Each lease carries the node's VTEP MAC, so no ARP or FDB learning is needed.",
    diagram: DIAGRAMS.vxlan,
  },
  {
    file: 'native.md',
    title: 'The native backend (host-gw): kernel routes, no encapsulation',
    lab: 'nat',
    backend: 'native',
    routeSync: 'lease',
    summary: "flannel's host-gw: a kernel route per peer subnet via the peer's underlay address; nothing added.",
    intro:
      "When all nodes share one L2 segment the packet needs no wrapper: a route `PEER_SUBNET via PEER_UNDERLAY_IP dev eth0` is enough, and the kernel forwards at full speed. weft is then only the control plane: it watches the leases and keeps one route per peer. There is no TUN, so the agent's captures and counters see nothing; the bytes below come from a tcpdump on the node's eth0.",
    diagram: DIAGRAMS.native,
  },
  {
    file: 'native-bgp.md',
    title: 'Native routing with BGP: the routes come from BGP',
    lab: 'bgp',
    backend: 'native',
    routeSync: 'bgp',
    summary:
      "the same kernel routes, learned over an iBGP mesh between the agents instead of from the lease store (Calico's way).",
    intro:
      "Calico's way of doing host-gw: the node's subnet still comes from the lease store, but the routes to the other nodes come from BGP. Each agent advertises its subnet with next hop = its underlay address to every other node (an iBGP full mesh, AS 64512), and turns every route it learns into a kernel route. The same speaker can peer with BIRD or a top-of-rack router. The packet on the wire is exactly the native one; what differs is where the route came from: see [BGP sessions](bgp-sessions.md) for the messages.",
    diagram: DIAGRAMS.nativeBgp,
  },
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'docs' },
      only: { type: 'string' },
      'lab-prefix': { type: 'string', default: 'doc' },
    },
  });
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  const only = values.only?.split(',');
  const specs = SPECS.filter((s) => !only || only.includes(s.backend + (s.routeSync === 'bgp' ? '-bgp' : '')));
  const when = new Date();
  const started = Date.now();
  const log = (m: string) => console.error(`docs: ${m}`);
  for (const s of specs) {
    const lab = `${values['lab-prefix']}${s.lab}`;
    log(`${s.file}: lab ${lab} (${s.backend}, ${s.routeSync})`);
    const c = await captureLesson(lab, s.backend, s.routeSync, log);
    writeFileSync(join(out, s.file), backendLesson(s, c, when));
    if (c.bgp) writeFileSync(join(out, 'bgp-sessions.md'), bgpLesson(c, when, BGP_DIAGRAM));
    log(`${s.file}: written`);
  }
  const control = !only || only.includes('control-plane');
  if (control) {
    const lab = `${values['lab-prefix']}ctl`;
    log(`${CONTROL_FILE}: lab ${lab} (vxlan, etcd store, --ip-masq)`);
    writeFileSync(join(out, CONTROL_FILE), controlLesson(await captureControlPlane(lab, log), when));
    log(`${CONTROL_FILE}: written`);
  }
  const dualStack = !only || only.includes('dual-stack');
  if (dualStack) {
    const lab = `${values['lab-prefix']}ds`;
    log(`${DUAL_STACK_FILE}: lab ${lab} (vxlan, dual stack, etcd store)`);
    writeFileSync(join(out, DUAL_STACK_FILE), dualStackLesson(await captureDualStack(lab, 'vxlan', log), when));
    log(`${DUAL_STACK_FILE}: written`);
  }
  const extra = [
    ...(control ? [{ file: CONTROL_FILE, title: CONTROL_TITLE, summary: CONTROL_SUMMARY }] : []),
    ...(dualStack ? [{ file: DUAL_STACK_FILE, title: DUAL_STACK_TITLE, summary: DUAL_STACK_SUMMARY }] : []),
  ];
  writeFileSync(join(out, 'README.md'), indexPage(specs, when, extra));
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${out}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    console.error(`docs: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  },
);
