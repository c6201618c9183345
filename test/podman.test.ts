// A real container runtime on weft: Debian's podman (4.3, CNI network backend) on two lab nodes with weft agents
// (vxlan, leases in a shared store), attaching containers through the conflist `weft cni install` wrote,
// unmodified (weft, then portmap; Debian's bridge and host-local in /usr/lib/cni). Containers run from a root file
// system built offline from this machine's programs and `podman import`ed. Checked: each container's address is
// in its node's lease and host-local reserved it for that container; containers ping each other across nodes
// (`podman exec`, and a `podman run --rm` container); a `--rm` container that ended and `podman rm` of the others
// leave no veth on cni0, no reservation, no saved weft state, no libcni result and no netns file behind.
// `podman run -p` publishes a port through portmap (reached from the other node, rules gone after rm); `podman
// restart` (DEL then ADD for the same container) keeps one veth, one reservation and one saved state. The plugin
// runs as `weft cni install` set it up, as an operator's would. How podman runs on a node (and why not under
// `ip netns exec`) is in test/support/podman.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunWith } from '@weft/lab';
import { labUp, type RunningLab } from 'weft/lab';
import { subnetEnvOf } from './support/agent-lab.ts';
import {
  buildRootfsTar,
  nodePath,
  podman,
  runFlags,
  startPodmanNode,
  stopPodmanNode,
  type PodmanNode,
} from './support/podman.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEFT = fileURLToPath(new URL('../agent/bin/weft.mjs', import.meta.url));
const STD = '/usr/lib/cni';
const IMAGE = 'localhost/weft-pd-rootfs:1';
const NETWORK = 'cbr0'; // the name in the conflist `weft cni install` writes
/** Where podman, runc and libcni write when not kept in a node's own /run and /var/lib: must not appear here. */
const MACHINE_PATHS = ['/var/lib/cni', '/var/lib/containers', '/run/runc', '/run/libpod', '/run/containers'];

/** The address podman reports for `name` on the weft network. */
async function addressOf(node: PodmanNode, name: string): Promise<{ ip: string; id: string }> {
  const [info] = JSON.parse((await podman(node, ['inspect', name])).stdout) as {
    Id: string;
    NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  }[];
  const ip = info?.NetworkSettings.Networks[NETWORK]?.IPAddress ?? '';
  assert.match(ip, /^10\.244\.\d+\.\d+$/, `${name} on ${node.name}: ${JSON.stringify(info?.NetworkSettings)}`);
  return { ip, id: info!.Id };
}

const inLease = (ip: string, lease: string) =>
  ip.split('.').slice(0, 3).join('.') === lease.split('.').slice(0, 3).join('.');

/** Files in a directory as the node sees it ([] when it does not exist). */
function filesIn(node: PodmanNode, path: string): string[] {
  const dir = nodePath(node, path);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** host-local's reservations (one file per address) on the node. */
const reservations = (node: PodmanNode) =>
  filesIn(node, `/var/lib/cni/networks/${NETWORK}`).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));

/** Names of the ports on the node's cni0 (the host ends of the containers' veths). */
async function cni0Ports(node: PodmanNode): Promise<string[]> {
  const r = await node.ns.ip(['-j', 'link', 'show', 'master', 'cni0'], { allowFailure: true });
  return r.code === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname) : [];
}

/** Replies `ping -c count` got from inside container `name` (up to 20 s for the first ones across nodes). */
async function pingFrom(node: PodmanNode, name: string, ip: string, count = 3): Promise<number> {
  const r = await podman(node, ['exec', name, '/bin/ping', '-n', '-q', '-c', String(count), '-w', '20', ip], {
    allowFailure: true,
  });
  return Number(/ (\d+) received/.exec(r.stdout)?.[1] ?? 0);
}

/** `weft cni install` into temp dirs (the launcher, and the conflist every node uses unmodified). */
function installWeftCni(tmp: string): { bin: string; conf: string } {
  const [bin, conf] = [join(tmp, 'cni-bin'), join(tmp, 'net.d')];
  const r = spawnSync(process.execPath, [WEFT, 'cni', 'install', '--bin-dir', bin, '--conf-dir', conf], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  return { bin, conf };
}

/** A podman per lab node, configured for the weft CNI network, with the offline image imported. */
async function startNodes(run: RunningLab, tmp: string, tar: string, into: PodmanNode[]): Promise<void> {
  const { bin, conf } = installWeftCni(tmp);
  for (const n of run.lab.nodes) {
    const node = await startPodmanNode(run.lab.scope, n.name, n.ns, join(tmp, n.name), {
      cniBinDir: bin,
      cniConfDir: conf,
      stdPluginDirs: [STD],
      flannelDir: join(run.lab.scope.dir, n.name),
      network: NETWORK,
    });
    into.push(node);
    await podman(node, ['import', '--quiet', tar, IMAGE]);
  }
}

/** `podman run -d` one sleeping container per node; each address in its node's lease, reserved for it. */
async function runSleepers(a: PodmanNode, b: PodmanNode, leaseOf: (n: PodmanNode) => string) {
  for (const [node, name] of [
    [a, 'pd-a1'],
    [b, 'pd-b1'],
  ] as const)
    await podman(node, ['run', '-d', '--name', name, ...runFlags(node), IMAGE, '/bin/sleep', '300']);
  const a1 = await addressOf(a, 'pd-a1');
  const b1 = await addressOf(b, 'pd-b1');
  assert.ok(inLease(a1.ip, leaseOf(a)), `pd-a1 ${a1.ip} in ${a.name}'s lease ${leaseOf(a)}`);
  assert.ok(inLease(b1.ip, leaseOf(b)), `pd-b1 ${b1.ip} in ${b.name}'s lease ${leaseOf(b)}`);
  assert.equal(reservations(a), [a1.ip]);
  assert.match(readFileSync(nodePath(a, `/var/lib/cni/networks/${NETWORK}/${a1.ip}`), 'utf8'), a1.id);
  assert.equal(filesIn(a, '/var/lib/cni/flannel'), [a1.id], 'weft saved what it delegated for pd-a1');
  assert.is((await cni0Ports(a)).length, 1, 'one veth on cni0 of a');
  return { a1, b1 };
}

/** `podman restart` of `name`: DEL then ADD with the same container id; one veth, reservation and saved state. */
async function restartAndCheck(node: PodmanNode, name: string, lease: string): Promise<{ ip: string; id: string }> {
  await podman(node, ['restart', '-t', '0', name]);
  const c = await addressOf(node, name);
  assert.ok(inLease(c.ip, lease), `${name} ${c.ip} after restart in ${node.name}'s lease ${lease}`);
  assert.equal(reservations(node), [c.ip], `${node.name}: only the restarted container's address is reserved`);
  assert.equal(filesIn(node, '/var/lib/cni/flannel'), [c.id], `${node.name}: one saved state`);
  assert.is((await cni0Ports(node)).length, 1, `${node.name}: one veth on cni0 after restart`);
  return c;
}

/**
 * A container that lives for one command on `a`: its address and MTU (subnet.env's), then its ping to `toIp`
 * across nodes; then it is gone.
 */
async function runOnce(a: PodmanNode, toIp: string, a1Ip: string, env: Record<string, string>): Promise<void> {
  const lease = env.FLANNEL_SUBNET!;
  const script = `ip -4 -o addr show dev eth0 && ip -o link show dev eth0 && ping -n -q -c 3 -w 20 ${toIp}`;
  const once = await podman(a, ['run', '--rm', '--name', 'pd-a2', ...runFlags(a), IMAGE, '/bin/sh', '-c', script], {
    allowFailure: true,
  });
  assert.is(once.code, 0, `podman run --rm: ${once.stdout}${once.stderr}`);
  const a2 = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(once.stdout)?.[1] ?? '';
  assert.ok(inLease(a2, lease) && a2 !== a1Ip, `pd-a2 ${a2} in ${a.name}'s lease ${lease}, not pd-a1's address`);
  assert.match(once.stdout, new RegExp(` mtu ${env.FLANNEL_MTU} `), `the MTU from subnet.env: ${once.stdout}`);
  assert.match(once.stdout, / 3 received/);
  assert.equal(reservations(a), [a1Ip], 'pd-a2 released its address when it ended');
  assert.is((await cni0Ports(a)).length, 1, "pd-a2's veth is gone");
}

/** The node's nat table (`iptables -t nat -S`), where portmap puts its DNAT rules. */
async function natRules(node: PodmanNode): Promise<string> {
  return (await node.ns.exec(['iptables', '-t', 'nat', '-S'])).stdout;
}

/**
 * `podman run -p 8080:80` on `a` (busybox httpd): portmap, chained after weft, forwards `a`'s underlay address
 * to it, reached from `b`'s namespace; `podman rm` takes portmap's rules away again.
 */
async function publishAndCheck(a: PodmanNode, b: PodmanNode, aUnderlayIp: string): Promise<void> {
  const token = `weft-pd-${process.pid}`;
  const serve = `echo ${token} > /tmp/index.html && exec /bin/busybox httpd -f -p 80 -h /tmp`;
  await podman(a, ['run', '-d', '--name', 'pd-a3', '-p', '8080:80', ...runFlags(a), IMAGE, '/bin/sh', '-c', serve]);
  assert.match(await natRules(a), /--dport 8080 /, 'portmap wrote its DNAT rule');
  let body = '';
  for (let i = 0; i < 20 && !body.includes(token); i++) {
    const url = `http://${aUnderlayIp}:8080/`;
    body = (await b.ns.exec(['curl', '-s', '-m', '2', url], { allowFailure: true })).stdout;
    if (!body.includes(token)) await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(body, token, `${b.name} -> ${aUnderlayIp}:8080 reaches pd-a3 through portmap`);
  await podman(a, ['rm', '-f', '-t', '0', 'pd-a3']);
  assert.not.match(await natRules(a), /--dport 8080 /, "portmap's rule went with the container");
}

/** `podman rm -f` of the node's container `name`, then nothing of it is left on the node. */
async function removeAndCheck(node: PodmanNode, name: string): Promise<void> {
  await podman(node, ['rm', '-f', '-t', '0', name]);
  assert.equal(await cni0Ports(node), [], `${node.name}: no veth left on cni0`);
  assert.equal(reservations(node), [], `${node.name}: no reservation left`);
  assert.equal(filesIn(node, '/var/lib/cni/flannel'), [], `${node.name}: no saved weft state left`);
  assert.equal(filesIn(node, '/var/lib/cni/results'), [], `${node.name}: no libcni result cache left`);
  assert.equal(filesIn(node, '/run/netns'), [], `${node.name}: no container netns left`);
  assert.is((await podman(node, ['ps', '-aq'])).stdout.trim(), '', `${node.name}: no container left`);
}

if (
  canRunWith('podman with the weft CNI plugin', [
    'podman',
    'nsenter',
    'unshare',
    'ldd',
    'tar',
    'ping',
    join(STD, 'bridge'),
    join(STD, 'host-local'),
    join(STD, 'portmap'),
    'busybox',
    'iptables',
    'curl',
  ])
) {
  test('podman (CNI backend) on two weft nodes: leases, ping across nodes, restart, run --rm, -p; rm leaves nothing', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pd-podman-'));
    const absentBefore = MACHINE_PATHS.filter((p) => !existsSync(p));
    let run: RunningLab | undefined;
    const nodes: PodmanNode[] = [];
    let passed = false;
    try {
      const tar = buildRootfsTar(tmp, ['sh', 'ping', 'sleep', 'ip', 'busybox']);
      run = await labUp({
        name: 'pd-podman',
        nodes: 2,
        pods: 0,
        backend: 'vxlan',
        routeSync: 'lease',
        store: 'embedded',
        agentArgs: ['--ip-masq=true'],
      });
      await startNodes(run, tmp, tar, nodes);
      const [a, b] = nodes as [PodmanNode, PodmanNode];
      const envOf = (node: PodmanNode) => subnetEnvOf(run!, run!.lab.node(node.name));
      const leaseOf = (node: PodmanNode) => envOf(node).FLANNEL_SUBNET!;
      const { a1 } = await runSleepers(a, b, leaseOf);
      const b1 = await restartAndCheck(b, 'pd-b1', leaseOf(b));
      assert.is(await pingFrom(a, 'pd-a1', b1.ip), 3, 'pd-a1 -> pd-b1 across nodes');
      assert.is(await pingFrom(b, 'pd-b1', a1.ip), 3, 'pd-b1 -> pd-a1 across nodes');
      await runOnce(a, b1.ip, a1.ip, envOf(a));
      await publishAndCheck(a, b, run.lab.node(a.name).underlayIp);
      await removeAndCheck(a, 'pd-a1');
      await removeAndCheck(b, 'pd-b1');
      passed = true;
    } finally {
      const problems: string[] = [];
      for (const node of nodes) problems.push(...(await stopPodmanNode(node)));
      await run?.lab.teardown();
      rmSync(tmp, { recursive: true, force: true });
      for (const p of absentBefore) if (existsSync(p)) problems.push(`${p} appeared on the machine`);
      if (passed) assert.equal(problems, [], 'clean-up');
      else if (problems.length) console.error(`clean-up: ${problems.join('\n')}`);
    }
  });
}

test.run();
