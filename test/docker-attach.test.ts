// Docker the flannel way, for real: two weft nodes in namespaces (udp backend, leases in one embedded store), and
// on each a private dockerd (docker/dockerd-netns.sh, as the compose test runs one) started with the DOCKER_OPTS
// that `weft docker-opts` wrote from the node's subnet.env. n1's agent masquerades (--ip-masq), so its dockerd
// must not (--ip-masq=false); n2's agent does not, so its dockerd does. One container per node, from a busybox
// image built offline (Debian's busybox-static in a tarball, `docker import`): docker0 holds the lease, the
// container's address lies in its node's lease, its MTU is the overlay's, and the containers ping each other
// across nodes through flannel0 and the agents. Teardown stops the containers, both dockerds and the agents, and
// must leave no process, cgroup, mount or namespace behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith, listLabNamespaces, run, type Netns } from '@weft/lab';
import { ipv4PrefixCovers, tryParseIpv4Prefix } from '@weft/netaddr';
import { weftArgv } from 'weft/lab';
import { PrivateDockerd } from './support/dock-dockerd.ts';
import { startAgentNode, writeNetConf, type AgentNode } from './support/flannel-nodes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCOPE = `dk-docker-${process.pid}`;
const IMAGE = 'weft-dk-busybox:test';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ping', 'sleep', 'cat', 'ip'];
const started = Date.now();
const say = (m: string) => console.log(`[docker-attach +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

const dockerds: PrivateDockerd[] = [];
// Registered before the LabScope's own handlers, so each dockerd stops its containers before the namespaces go.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const d of dockerds) d.teardownSync();
    if (process.listenerCount(sig) === 1) process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
process.on('exit', () => {
  for (const d of dockerds) d.teardownSync();
});

interface DockerNode {
  agent: AgentNode;
  dockerd: PrivateDockerd;
  flags: string[];
  container: string;
  ip: string;
}

/** `weft docker-opts` as docker.service's ExecStartPre runs it; DOCKER_OPTS split at blanks, as systemd's $VAR. */
async function dockerOpts(agent: AgentNode): Promise<string[]> {
  const file = join(agent.dir, 'docker_opts.env');
  await run(weftArgv('docker-opts', '-f', join(agent.dir, 'subnet.env'), '-d', file), { timeoutMs: 60_000 });
  const line = /^DOCKER_OPTS="(.*)"$/m.exec(readFileSync(file, 'utf8'));
  assert.ok(line, `DOCKER_OPTS in ${file}`);
  return line[1]!.trim().split(/\s+/);
}

/** A root file system of the static busybox and a few applets, as a tarball; returns its path. */
async function busyboxTarball(scope: LabScope): Promise<string> {
  const root = join(scope.dir, 'image-root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  const tar = join(scope.dir, 'busybox.tar');
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.']);
  return tar;
}

/** Starts dockerd on the agent's node with the given flags, imports the image, runs one container. */
async function startDocker(scope: LabScope, agent: AgentNode, flags: string[], tar: string): Promise<DockerNode> {
  const dir = join(scope.dir, `dk-${process.pid}-${agent.name}`);
  // Docker's default bridge with weft's options; iptables for its masquerade rule (the namespace's own tables).
  const dockerd = await PrivateDockerd.start(
    scope,
    agent.ns,
    dir,
    join(ROOT, 'docker/dockerd-netns.sh'),
    process.env,
    90_000,
    ['--bridge=', '--iptables=true', ...flags],
  );
  dockerds.push(dockerd);
  // dockerd-netns.sh turns forwarding off; this node routes between docker0 and flannel0. With forwarding on, a
  // host's dockerd also sets FORWARD to DROP: the agent's forward rules (flanneld's) must let pod traffic through.
  await agent.ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await agent.ns.exec(['iptables', '-P', 'FORWARD', 'DROP']);
  await dockerd.docker(['import', '--change', 'CMD ["/bin/sh"]', tar, IMAGE]);
  const container = `dk-${agent.name}`;
  await dockerd.docker(['run', '-d', '--name', container, IMAGE, 'sleep', '600']);
  const ip = (await dockerd.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', container])).stdout.trim();
  return { agent, dockerd, flags, container, ip };
}

/** Replies to `count` pings from `from`'s container to `toIp` (busybox ping, bounded by -w). */
async function pings(from: DockerNode, toIp: string, count: number): Promise<number> {
  const r = await from.dockerd.docker(
    ['exec', from.container, 'ping', '-c', String(count), '-W', '2', '-w', String(count * 2 + 3), toIp],
    { allowFailure: true, timeoutMs: 60_000 },
  );
  return Number(/(\d+) packets received/.exec(r.stdout)?.[1] ?? 0);
}

/** The first ping through a fresh path may be lost to neighbour resolution: up to 5 single tries. */
async function firstPing(from: DockerNode, toIp: string): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await pings(from, toIp, 1)) === 1) return true;
  return false;
}

async function checkBridge(node: DockerNode, ipMasq: boolean): Promise<void> {
  const { subnet, mtu, name } = node.agent;
  const lease = tryParseIpv4Prefix(subnet)!;
  const inspect = JSON.parse((await node.dockerd.docker(['network', 'inspect', 'bridge'])).stdout)[0] as {
    IPAM: { Config: { Subnet: string; Gateway?: string }[] };
    Options: Record<string, string>;
  };
  assert.is(inspect.IPAM.Config[0]?.Subnet, subnet, `${name}: docker0's subnet is the lease`);
  const docker0 = (await node.agent.ns.ip(['-4', '-o', 'addr', 'show', 'dev', 'docker0'])).stdout;
  assert.match(docker0, ` ${subnet.replace(/\.0\//, '.1/')} `, `${name}: docker0 holds the lease's first address`);
  assert.is(inspect.Options['com.docker.network.driver.mtu'], String(mtu), `${name}: bridge MTU`);
  assert.is(inspect.Options['com.docker.network.bridge.enable_ip_masquerade'], String(ipMasq), `${name}: ip-masq`);
  const container = tryParseIpv4Prefix(`${node.ip}/32`);
  assert.ok(container && ipv4PrefixCovers(lease, container), `${name}: container ${node.ip} inside ${subnet}`);
  const cmtu = await node.dockerd.docker(['exec', node.container, 'cat', '/sys/class/net/eth0/mtu']);
  assert.is(cmtu.stdout.trim(), String(mtu), `${name}: the container's MTU is the overlay's`);
  const nat = (await node.agent.ns.exec(['iptables', '-t', 'nat', '-S', 'POSTROUTING'])).stdout;
  assert.is(nat.includes(`-s ${subnet} ! -o docker0 -j MASQUERADE`), ipMasq, `${name}: Docker's masquerade rule`);
}

async function buildNodes(scope: LabScope): Promise<[Netns, Netns]> {
  const [n1, n2] = [await scope.netns('n1'), await scope.netns('n2')];
  await scope.veth(n1, 'eth0', n2, 'eth0');
  await n1.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  await n2.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
  return [n1, n2];
}

/**
 * Removes the containers (SIGKILL: `sleep` as PID 1 ignores SIGTERM, and dockerd would wait 10 s), stops the
 * agents (dockerd's sweep kills and reports whatever still runs in its namespace), then the dockerds.
 */
async function tearDown(scope: LabScope, nodes: DockerNode[], agents: AgentNode[]): Promise<string[]> {
  const left: string[] = [];
  await Promise.all(
    nodes.map(async (n) => {
      const r = await n.dockerd.docker(['rm', '-f', n.container], { allowFailure: true });
      if (r.code !== 0) left.push(`docker rm -f ${n.container}: ${r.stderr.trim()}`);
    }),
  );
  await Promise.all(agents.map((a) => a.proc.stop(10_000)));
  for (const l of await Promise.all(dockerds.map((d) => d.teardown()))) left.push(...l);
  await scope.cleanup();
  return left;
}

const TOOLS = ['ip', 'iptables', 'dockerd', 'docker', 'tar', BUSYBOX];
if (canRunWith('docker attach', TOOLS)) {
  test('docker-opts: a private dockerd per weft node with its --bip/--mtu/--ip-masq; containers ping across', async () => {
    const scope = new LabScope(SCOPE);
    const agents: AgentNode[] = [];
    const nodes: DockerNode[] = [];
    let left: string[] = [];
    try {
      const [n1, n2] = await buildNodes(scope);
      const conf = writeNetConf(scope, { Network: '10.244.0.0/16', Backend: { Type: 'udp' } });
      agents.push(await startAgentNode(scope, 'n1', n1, conf, '192.0.2.1', ['--ip-masq']));
      agents.push(await startAgentNode(scope, 'n2', n2, conf, '192.0.2.2'));
      say(`leases: n1 ${agents[0]!.subnet}, n2 ${agents[1]!.subnet}`);
      const [f1, f2] = await Promise.all(agents.map(dockerOpts));
      assert.equal(f1, [
        `--bip=${agents[0]!.subnet.replace(/\.0\//, '.1/')}`,
        '--ip-masq=false',
        `--mtu=${agents[0]!.mtu}`,
      ]);
      assert.equal(f2, [
        `--bip=${agents[1]!.subnet.replace(/\.0\//, '.1/')}`,
        '--ip-masq=true',
        `--mtu=${agents[1]!.mtu}`,
      ]);
      say(`docker-opts: n1 ${f1.join(' ')}; n2 ${f2.join(' ')}`);
      const tar = await busyboxTarball(scope);
      const [d1, d2] = await Promise.all([
        startDocker(scope, agents[0]!, f1, tar),
        startDocker(scope, agents[1]!, f2, tar),
      ]);
      nodes.push(d1, d2);
      say(`containers: n1 ${d1.ip}, n2 ${d2.ip}`);
      await checkBridge(d1, false);
      await checkBridge(d2, true);
      assert.ok(await firstPing(d1, d2.ip), `n1's container reaches ${d2.ip}`);
      assert.is(await pings(d1, d2.ip, 3), 3, 'n1 -> n2: 3 of 3');
      assert.ok(await firstPing(d2, d1.ip), `n2's container reaches ${d1.ip}`);
      assert.is(await pings(d2, d1.ip, 3), 3, 'n2 -> n1: 3 of 3');
      say('pings answered both ways; tearing down');
      left = await tearDown(scope, nodes, agents);
    } finally {
      await tearDown(scope, nodes, agents);
    }
    assert.equal(left, [], 'teardown found nothing left over');
    assert.equal(await listLabNamespaces(SCOPE), [], 'no namespace left');
    rmSync(scope.dir, { recursive: true, force: true }); // logs are kept only when the test fails
    say('done');
  });
}

test.run();
