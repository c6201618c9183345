// The control-plane lesson's text: hand-written prose and one diagram around what control-capture.ts recorded.
import { banner, fence, table } from './format.ts';
import type { ControlCapture, EtcdKey } from './control-capture.ts';

export const CONTROL_FILE = 'control-plane.md';
export const CONTROL_TITLE = 'The control plane: leases, subnet.env, the CNI plugin, masquerade';
export const CONTROL_SUMMARY =
  'how a node leases its subnet in etcd and keeps it (TTL, renewal, restart), what subnet.env says, what the CNI plugin does for one container, and the masquerade rules.';

const DIAGRAM = ` etcd (/coreos.com/network/...)
   config                      <- written once by the operator (net-conf.json)
   subnets/10.244.X.0-24       <- one key per node, on an etcd lease (TTL), renewed by the node's agent
        ^  lease, renew, watch the others
        |
 weft agent (node n1) --writes--> subnet.env --read by--> weft CNI plugin (one process per container)
        |                                                   |  delegates with this node's subnet and MTU
        | routes / forwarding table to the other subnets    v
        | iptables: WEFT-POSTRTG (nat), WEFT-FWD (filter)  bridge: cni0 + veth pair into the container
        v                                                   host-local: one reservation file per address
 flannel0 / kernel routes                                   result JSON -> the container runtime`;

const keyRows = (keys: EtcdKey[]) =>
  table(
    ['key', 'etcd lease', 'value'],
    keys.map((k) => [k.key, k.lease || '(none)', k.value]),
  );

function leaseSection(c: ControlCapture): string[] {
  const n1 = c.nodes[0]!;
  return [
    '## 1. The lease: a key in etcd, on an etcd lease',
    '',
    table(
      ['node', 'underlay (eth0)', 'leased subnet', 'pod'],
      c.nodes.map((n) => [n.name, n.underlayIp, n.subnet, n.pod]),
    ),
    '',
    "Each agent was started as (this is n1's command line in this lab):",
    '',
    fence(c.agentCommand.join(' '), 'sh'),
    '',
    "At start the agent reads the network configuration (with `--store etcd://...`, the `config` key, which the lab wrote from net-conf.json), lists the subnets already leased, picks a free /24 of the network (or the one its last subnet.env names) and creates its key in one etcd transaction that fails if someone else created it first. The value is flannel's lease attributes: the node's public IP, the backend type and the backend's data (for vxlan the VNI and the node's VTEP MAC, which the other nodes put into their forwarding tables). Every key under `/coreos.com/network/` in this run (`etcdctl get --prefix /coreos.com/network/`):",
    '',
    keyRows(c.keys),
    '',
    `The key does not carry its own expiry: it is attached to an etcd lease, and when the lease runs out etcd deletes the key, which every other agent's watch sees as the node leaving. n1's lease, as \`etcdctl lease timetolive ${c.keys.find((k) => k.key.endsWith(n1.subnet.replace('/', '-')))?.lease ?? ''} --keys\` reports it (flannel's 24 h, renewed 1 h before it runs out):`,
    '',
    fence(c.timeToLive),
  ];
}

function restartSection(c: ControlCapture): string[] {
  const r = c.restart;
  const changes = (() => {
    const seen: string[] = [];
    for (const s of c.renewals) if (!seen.includes(s.lease)) seen.push(s.lease);
    return seen.length - 1;
  })();
  return [
    '## 2. Restart and renewal',
    '',
    `The agent on n2 was stopped (SIGTERM) and started again with \`--subnet-lease-ttl ${r.ttlSeconds}\`, so that renewals happen while one watches (the default margin shrinks to half of a short TTL). Stopping does not delete the key: a restart within the TTL must find its subnet still reserved. The key before and after:`,
    '',
    table(
      ['', 'key', 'etcd lease', 'mod revision'],
      [
        ['before', r.before.key, r.before.lease, r.before.modRevision],
        ['after', r.after.key, r.after.lease, r.after.modRevision],
      ],
    ),
    '',
    'The restarted agent found a lease of its own (same public IP) and took the same subnet back, as its log says:',
    '',
    fence(r.log.join('\n') || '(no lease lines in the log)', 'json'),
    '',
    `Then, about once a second, the key's etcd lease and what etcd says is left of it. A renewal grants a fresh etcd lease, moves the key onto it only if the key still exists (a transaction), then revokes the old lease: the ID changes and the time left jumps back to the TTL (-1 means the lease read with the key had been revoked by the time etcd was asked about it: a renewal in between). In these ${c.renewals.at(-1)?.second ?? 0} seconds the key moved to a new lease ${changes} times:`,
    '',
    table(
      ['second', 'etcd lease', 'TTL left (s)'],
      c.renewals.map((s) => [s.second, s.lease, s.remaining]),
    ),
  ];
}

function subnetEnvSection(c: ControlCapture): string[] {
  return [
    '## 3. subnet.env: what the node tells its containers',
    '',
    "Once it holds the lease, the agent writes flannel's subnet.env (here `--subnet-file` in the lab's directory; on a node `/run/flannel/subnet.env`). n1's, as written in this run:",
    '',
    fence(c.subnetEnv, 'sh'),
    '',
    "`FLANNEL_NETWORK` is the whole cluster network, `FLANNEL_SUBNET` this node's lease with the first address (the bridge's, the containers' gateway), `FLANNEL_MTU` the underlay MTU minus the backend's overhead, `FLANNEL_IPMASQ` whether the agent masquerades (then the bridge must not). Docker's `--bip`/`--mtu` (`weft docker-opts`) and the CNI plugin both read this file, and the agent reads its own old one at start to ask for the same subnet again.",
  ];
}

function cniSection(c: ControlCapture): string[] {
  const x = c.cni;
  const res = x.reservations;
  return [
    '## 4. One container through the CNI plugin',
    '',
    `The lab's pods are attached the way a container runtime attaches them, and this section follows one more container, \`${x.containerId}\`, on n1. The runtime reads the node's conflist (\`${x.conflistFile}\`, written by \`weft cni install\` and pointed at this node's files by the lab):`,
    '',
    fence(x.conflist, 'json'),
    '',
    "and runs each plugin with `CNI_COMMAND=ADD`, `CNI_CONTAINERID`, `CNI_NETNS` (the container's network namespace), `CNI_IFNAME=eth0` and `CNI_PATH` in its environment, and the plugin's entry, with the list's name and version, on stdin. What `weft` got on stdin:",
    '',
    fence(JSON.stringify(x.stdin, null, 2), 'json'),
    '',
    "weft reads subnet.env and hands the work to `bridge` with `host-local` for addresses: this node's subnet as the only range, a route to the cluster network via the bridge, the MTU, `ipMasq` the opposite of `FLANNEL_IPMASQ`, then the conflist's own `delegate` keys. It saves that configuration under `dataDir` first, so a DEL finds it even after subnet.env changed or vanished. The saved file:",
    '',
    fence(JSON.stringify(JSON.parse(x.delegated), null, 2), 'json'),
    '',
    'bridge created `cni0` on the first ADD (with the gateway address) and one veth pair per container, its host end a port of cni0; in the node (`ip -br addr show cni0`, `ip -br link show master cni0`):',
    '',
    fence(x.bridge),
    '',
    'and in the container (`ip -br addr show eth0`, `ip route`):',
    '',
    fence(x.podView),
    '',
    "host-local keeps one file per reserved address, named after the address and holding the container ID and interface (two lines, CRLF: \u23ce below), and remembers the last address it gave out; the node's IPAM directory after the ADD:",
    '',
    table(
      ['file', 'content'],
      res.map((f) => [f.file, f.content.replace(/\r?\n/g, ' \u23ce ').trim()]),
    ),
    '',
    "The result weft printed for the runtime (bridge's, converted to the configuration's version; the runtime hands it to the next plugin, portmap, as prevResult):",
    '',
    fence(JSON.stringify(x.result, null, 2), 'json'),
    '',
    `DEL ran the chain backwards (portmap, then weft, which gave bridge the saved configuration): the veth pair and the reservation went; left in the IPAM directory: ${x.afterDel.map((f) => `\`${f}\``).join(', ') || 'nothing'}.`,
  ];
}

function masqSection(c: ControlCapture): string[] {
  const m = c.masquerade;
  const ours = (text: string) =>
    text
      .split('\n')
      .filter((l) => /WEFT|^\*|^:(POSTROUTING|FORWARD) |^COMMIT/.test(l))
      .join('\n');
  return [
    '## 5. Masquerade and forward rules',
    '',
    "With `--ip-masq` the agent installs flannel's masquerade rules, in a chain of its own reached by one jump from POSTROUTING, and (by default, as flanneld) accept rules for the cluster network in FORWARD. The chain is rewritten whole on every change and resync, so a restart never duplicates a rule. From `iptables-save -t nat` in n1 (weft's lines, the tables' headers and base chains):",
    '',
    fence(ours(m.nat)),
    '',
    "In order: packets kube-proxy will masquerade itself are left alone; pod to pod inside the cluster network keeps both addresses (this is what lets a pod on n2 see the real address of a pod on n1); traffic from anywhere else to the pods is left alone; pods talking to anything outside the network (multicast excepted) go out with the node's address; and traffic from outside to another node's pods is masqueraded too. From `iptables-save -t filter`:",
    '',
    fence(ours(m.filter)),
    '',
    `A pod on n1 pinged ${m.outsideHost}, an address outside the cluster network with no route back to any pod (${m.pingReceived} of 3 replies came back, through the masquerade). The counters of weft's nat chain afterwards (\`iptables -t nat -L WEFT-POSTRTG -n -v -x\`): the MASQUERADE rule for \`-s 10.244.0.0/16 ! -d 224.0.0.0/4\` counted the connection (nat rules see the first packet of each connection; conntrack handles the rest):`,
    '',
    fence(m.counters),
  ];
}

/** docs/control-plane.md. */
export function controlLesson(c: ControlCapture, when: Date): string {
  return [
    banner(CONTROL_TITLE, when),
    '',
    "The other lessons follow a packet. This one follows what has to happen before the first packet: a node leasing its subnet from the store and keeping it, the file that tells the node's containers about it, the CNI plugin giving one container an address in it, and the rules that let pods talk to the world outside the cluster network. The lab: two nodes, vxlan backend, leases in etcd (flannel's key layout), agents with `--ip-masq`.",
    '',
    fence(DIAGRAM),
    '',
    ...leaseSection(c),
    '',
    ...restartSection(c),
    '',
    ...subnetEnvSection(c),
    '',
    ...cniSection(c),
    '',
    ...masqSection(c),
    '',
  ].join('\n');
}
