// Declarative lab topologies: N nodes on a shared underlay, M pods per node.
//
//   underlay ns "wl-LAB-ul": bridge br0 (MTU configurable), one port per node
//   node ns "wl-LAB-nI":     eth0 = 192.0.2.(10+I)/24 on the underlay; cni0 bridge = first address of the node's
//                            pod subnet; ip_forward on. The agent runs here.
//   pod ns "wl-LAB-nIpJ":    eth0 = the node subnet's (J+2)th address, default route via cni0's address.
//
// Pods are added after the node's agent has leased its subnet. `weft lab` attaches them through weft's CNI plugin
// (agent/src/lab/lab-cni.ts: bridge makes cni0, host-local picks the address) and records them in `node.pods`;
// `addPods` wires the same shape by hand, for nodes that run no weft agent (the kernel vxlan peers in tests).
// With `ipv6` (dual-stack and IPv6-only labs) each node's eth0 also gets 2001:db8::(10+I)/64 (no DAD: the lab's
// addresses are unique by construction) and forwards IPv6; the IPv4 underlay stays (etcd and BGP sessions use it).
import { formatIpv4, parseIpv4 } from '@weft/netaddr';
import { LabScope, Netns } from './netns.ts';

export const UNDERLAY_PREFIX = '192.0.2.';
export const UNDERLAY_PREFIX_LEN = 24;
/** The IPv6 underlay of dual-stack labs (documentation prefix, RFC 3849). */
export const UNDERLAY6_PREFIX = '2001:db8::';
export const UNDERLAY6_PREFIX_LEN = 64;

export interface TopologySpec {
  /** Lab name: part of every namespace name, so parallel labs never collide. */
  name: string;
  nodes: number;
  /** Underlay (bridge and node eth0) MTU; default 1500. */
  underlayMtu?: number;
  /** Where PID files, logs and the state file live; default /tmp/weft-lab-NAME. */
  dir?: string;
  /** Give the underlay IPv6 addresses too (dual-stack and IPv6-only labs). */
  ipv6?: boolean;
}

export interface LabPod {
  name: string;
  ns: Netns;
  /** The pod's first address: IPv4, or IPv6 in an IPv6-only lab. */
  ip: string;
  /** The pod's IPv6 address, when its node leases an IPv6 subnet. */
  ip6?: string;
}

export interface LabNode {
  index: number;
  name: string;
  ns: Netns;
  underlayIp: string;
  /** The IPv6 underlay address (labs with `ipv6`). */
  underlayIp6?: string;
  subnet?: string;
  /** The node's IPv6 pod subnet, once leased. */
  subnet6?: string;
  gateway?: string;
  pods: LabPod[];
}

/** Adds `n` to the dotted IPv4 address `addr` (modulo 2^32). Throws @weft/netaddr's AddressError for bad text. */
export function ipv4Add(addr: string, n: number): string {
  return formatIpv4((parseIpv4(addr) + n) >>> 0);
}

export class Lab {
  readonly nodes: LabNode[] = [];
  underlay!: Netns;

  private constructor(
    readonly spec: TopologySpec,
    readonly scope: LabScope,
    private readonly progress: (msg: string) => void,
  ) {}

  /** Builds the underlay and the nodes. On failure everything created so far is removed before the error is rethrown. */
  static async create(spec: TopologySpec, progress: (msg: string) => void = () => {}): Promise<Lab> {
    if (!Number.isInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > 200)
      throw new RangeError(`nodes must be 1..200, got ${spec.nodes}`);
    const lab = new Lab(spec, new LabScope(spec.name, { dir: spec.dir }), progress);
    try {
      await lab.buildUnderlay();
      for (let i = 1; i <= spec.nodes; i++) await lab.addNode(i);
    } catch (e) {
      await lab.scope.cleanup();
      throw e;
    }
    return lab;
  }

  private async buildUnderlay(): Promise<void> {
    const mtu = String(this.spec.underlayMtu ?? 1500);
    this.progress(`underlay: namespace ${this.scope.nsName('ul')} with bridge br0 (MTU ${mtu})`);
    this.underlay = await this.scope.netns('ul');
    await this.underlay.ipBatch([`link add br0 mtu ${mtu} type bridge`, 'link set br0 up']);
  }

  private async addNode(index: number): Promise<void> {
    const name = `n${index}`;
    const underlayIp = ipv4Add(`${UNDERLAY_PREFIX}0`, 10 + index);
    this.progress(`node ${name}: namespace ${this.scope.nsName(name)}, underlay ${underlayIp}`);
    const ns = await this.scope.netns(name);
    await this.scope.veth(ns, 'eth0', this.underlay, name, this.spec.underlayMtu ?? 1500);
    await this.underlay.ip(['link', 'set', name, 'master', 'br0']);
    await ns.ip(['addr', 'add', `${underlayIp}/${UNDERLAY_PREFIX_LEN}`, 'dev', 'eth0']);
    await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const node: LabNode = { index, name, ns, underlayIp, pods: [] };
    if (this.spec.ipv6) {
      node.underlayIp6 = `${UNDERLAY6_PREFIX}${10 + index}`;
      await ns.ip(['addr', 'add', `${node.underlayIp6}/${UNDERLAY6_PREFIX_LEN}`, 'dev', 'eth0', 'nodad']);
      await ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    }
    this.nodes.push(node);
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n)
      throw new RangeError(
        `no node "${name}" in lab ${this.spec.name} (nodes: ${this.nodes.map((x) => x.name).join(', ')})`,
      );
    return n;
  }

  /**
   * Gives `node` a pod subnet (e.g. 10.244.3.0/24, from its lease) and `count` pods in it: a cni0 bridge
   * holding the subnet's first address, and one namespace per pod with a default route via it.
   */
  async addPods(node: LabNode, subnet: string, count: number, podMtu: number): Promise<LabPod[]> {
    const [base, len] = subnet.split('/') as [string, string];
    node.subnet = subnet;
    node.gateway = ipv4Add(base, 1);
    await node.ns.ipBatch([
      `link add cni0 mtu ${podMtu} type bridge`,
      `addr add ${node.gateway}/${len} dev cni0`,
      'link set cni0 up',
    ]);
    for (let j = 1; j <= count; j++) {
      const name = `${node.name}p${j}`;
      const ip = ipv4Add(base, 1 + j);
      this.progress(`pod ${name}: ${ip} on ${node.name}`);
      const ns = await this.scope.netns(name);
      await this.scope.veth(ns, 'eth0', node.ns, `veth${j}`, podMtu);
      await node.ns.ip(['link', 'set', `veth${j}`, 'master', 'cni0']);
      await ns.ipBatch([`addr add ${ip}/${len} dev eth0`, `route add default via ${node.gateway}`]);
      node.pods.push({ name, ns, ip });
    }
    return node.pods;
  }

  /** Every node and pod by name, for `exec NAME`. */
  member(name: string): Netns {
    for (const n of this.nodes) {
      if (n.name === name) return n.ns;
      const pod = n.pods.find((p) => p.name === name);
      if (pod) return pod.ns;
    }
    throw new RangeError(`no node or pod "${name}" in lab ${this.spec.name}`);
  }

  /** A JSON-ready description: namespaces, addresses, subnets. */
  describe(): object {
    return {
      name: this.spec.name,
      underlay: { namespace: this.underlay.name, bridge: 'br0', cidr: `${UNDERLAY_PREFIX}0/${UNDERLAY_PREFIX_LEN}` },
      ...(this.spec.ipv6 ? { underlay6: { cidr: `${UNDERLAY6_PREFIX}/${UNDERLAY6_PREFIX_LEN}` } } : {}),
      nodes: this.nodes.map((n) => ({
        name: n.name,
        namespace: n.ns.name,
        underlayIp: n.underlayIp,
        ...(n.underlayIp6 ? { underlayIp6: n.underlayIp6 } : {}),
        subnet: n.subnet ?? null,
        ...(n.underlayIp6 ? { subnet6: n.subnet6 ?? null } : {}),
        pods: n.pods.map((p) => ({ name: p.name, namespace: p.ns.name, ip: p.ip, ...(p.ip6 ? { ip6: p.ip6 } : {}) })),
      })),
    };
  }

  teardown(): Promise<void> {
    return this.scope.cleanup();
  }
}
