// docker-compose.yml for real: a private dockerd inside a network namespace of this test (nothing on the host
// changes), the base image built offline (docker/base-image.sh: debootstrap + this machine's Node, cached in
// /var/cache/weft), the weft image built from this checkout, the compose topology up on internal networks,
// each pod attached by its node's CNI chain (weft -> Debian's bridge + host-local; the reservation and the result
// are checked), pod-to-pod traffic across nodes through weft's vxlan backend with the etcd store, and a teardown that must
// leave no namespace, process, cgroup, mount or file behind. Installs Debian's docker.io, docker-compose and
// debootstrap when they are missing (as root). The slowest test file: ~40 s with a warm cache on a quiet
// machine, ~105 s cold (debootstrap), up to twice that on a loaded one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LabScope,
  canRunPrivileged,
  canRunWith,
  listLabNamespaces,
  run,
  runSync,
  type RunOptions,
  type RunResult,
} from '@weft/lab';
import { PrivateDockerd, alive } from './support/dock-dockerd.ts';

const WHAT = 'docker compose';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// One scope per test process, so two suite runs on one machine (several people share it) never collide.
const SCOPE_PREFIX = 'dock-compose-';
const SCOPE = `${SCOPE_PREFIX}${process.pid}`;
const PROJECT = 'wldock';
const NODES = ['node1', 'node2', 'node3'] as const;
const PODS = ['pod1', 'pod2', 'pod3'] as const;
const NETWORKS = ['underlay'];
const TOOLS: Record<string, string> = {
  dockerd: 'docker.io',
  'docker-compose': 'docker-compose',
  debootstrap: 'debootstrap',
};
const started = Date.now();
const say = (m: string) => console.log(`[compose +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

/** Installs the Debian packages this test drives when they are missing and we are root (canRunWith then judges). */
function ensureTools(): boolean {
  const have = (c: string) => spawnSync('sh', ['-c', 'command -v "$0"', c]).status === 0;
  const missing = [
    ...new Set(
      Object.entries(TOOLS)
        .filter(([c]) => !have(c))
        .map(([, p]) => p),
    ),
  ];
  if (missing.length && process.getuid?.() === 0) {
    console.log(`compose: apt-get install ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { stdio: 'inherit' as const, env, timeout: 600_000 };
    spawnSync('apt-get', ['update', '-qq'], opts);
    spawnSync(
      'apt-get',
      ['install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...missing],
      opts,
    );
  }
  return true;
}

let dockerd: PrivateDockerd | null = null;
let scope: LabScope | null = null;

// Registered before the LabScope's own handlers, so dockerd stops its containers before the namespace goes.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    dockerd?.teardownSync();
    if (process.listenerCount(sig) === 1) process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
process.on('exit', () => dockerd?.teardownSync());

function compose(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = { ...dockerd!.env, COMPOSE_PROJECT_NAME: PROJECT, COMPOSE_FILE: join(ROOT, 'docker-compose.yml') };
  return run(['docker-compose', ...args], {
    timeoutMs: 120_000,
    ...opts,
    env: { ...env, COMPOSE_DOCKER_CLI_BUILD: '0' },
  });
}

/** Polls `check` every 500 ms until it returns a value, or throws after `timeoutMs` naming what was awaited. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ids = new Map<string, string>();
/** `docker exec` in a compose service's container (Go client: far quicker than `docker-compose exec`). */
async function exec(
  service: string,
  argv: readonly string[],
  opts: RunOptions = {},
  detach = false,
): Promise<RunResult> {
  if (!ids.has(service)) ids.set(service, (await compose(['ps', '-q', service])).stdout.trim());
  return dockerd!.docker(['exec', ...(detach ? ['-d'] : []), ids.get(service)!, ...argv], {
    timeoutMs: 30_000,
    ...opts,
  });
}

async function serviceRunning(service: string): Promise<boolean> {
  const id = (await compose(['ps', '-q', service])).stdout.trim();
  const r = await dockerd!.docker(['inspect', '-f', '{{.State.Running}}', id], { allowFailure: true });
  return r.stdout.trim() === 'true';
}

async function failWithLogs(service: string, why: string): Promise<never> {
  const logs = await compose(['logs', '--no-color', '--tail', '40', service], { allowFailure: true });
  throw new Error(`${service}: ${why}; its log:\n${logs.stdout}${logs.stderr}`);
}

function rootLinks(): string[] {
  return runSync(['ip', '-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .filter(Boolean)
    .sort();
}

/**
 * Removes what runs of this test killed with SIGKILL left behind (their test process is gone): the directory and
 * the namespace, unless their dockerd still runs, which is reported and left alone.
 */
function clearStaleRuns(): void {
  for (const name of readdirSync('/tmp').filter((n) => n.startsWith(`weft-lab-${SCOPE_PREFIX}`))) {
    const owner = Number(name.slice(`weft-lab-${SCOPE_PREFIX}`.length));
    if (!Number.isInteger(owner) || owner === process.pid || alive(owner)) continue;
    const dir = join('/tmp', name);
    const pidFile = join(dir, 'docker.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    if (alive(pid)) {
      console.log(`compose: a dockerd of a killed run (PID ${pid}, ${dir}) still runs; stop it with kill ${pid}`);
      continue;
    }
    say(`removing leftovers of a killed run: ${dir}`);
    runSync(['ip', 'netns', 'del', `wl-${SCOPE_PREFIX}${owner}-d`]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bringUp(): Promise<void> {
  clearStaleRuns();
  scope = new LabScope(SCOPE);
  const dir = scope.dir;
  const ns = await scope.netns('d');
  say(`dockerd: starting in namespace ${ns.name}, state under ${dir}`);
  dockerd = await PrivateDockerd.start(scope, ns, dir, join(ROOT, 'docker/dockerd-netns.sh'), process.env);
  assert.is(dockerd.pidFromFile(), dockerd.pid, 'the PID file names the dockerd this test spawned');
  say('base image: docker/base-image.sh (debootstrap on a cold cache, else an import)');
  await run(['sh', join(ROOT, 'docker/base-image.sh')], { env: dockerd.env, timeoutMs: 15 * 60_000 });
  say('weft image: docker-compose build (COPY of this checkout)');
  await compose(['build', '--quiet'], { timeoutMs: 5 * 60_000 });
  say('topology: docker-compose up -d');
  await compose(['up', '-d', '--no-build'], { timeoutMs: 3 * 60_000 });
}

async function checkIsolation(linksBefore: string[]): Promise<void> {
  for (const n of NETWORKS) {
    const r = await dockerd!.docker(['network', 'inspect', '-f', '{{.Internal}}', `${PROJECT}_${n}`]);
    assert.is(r.stdout.trim(), 'true', `network ${n} is internal`);
  }
  assert.equal(rootLinks(), linksBefore, 'no interface appeared in the root namespace');
  const ns = dockerd!.ns;
  const links = (await ns.ip(['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(Boolean);
  assert.ok(links.length >= 1 + NETWORKS.length, `the docker namespace holds the bridges: ${links.join(' ')}`);
  assert.ok(
    links.every((l) => l === 'lo' || /^(br-|veth)/.test(l)),
    `only bridges and veths in ${ns.name}: ${links.join(' ')}`,
  );
  assert.is(
    (await ns.exec(['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(),
    '0',
    'the docker namespace does not route',
  );
  assert.not.match((await ns.ip(['route', 'show'])).stdout, /default/, 'the docker namespace has no default route');
}

/** Waits for each node's lease; returns node -> FLANNEL_SUBNET. */
async function leases(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const node of NODES) {
    const subnet = await waitFor(`${node}'s subnet.env`, 240_000, async () => {
      if (!(await serviceRunning(node))) await failWithLogs(node, 'container stopped before leasing a subnet');
      const r = await exec(node, ['cat', '/run/flannel/subnet.env'], { allowFailure: true });
      return /^FLANNEL_MTU=/m.test(r.stdout) ? (/^FLANNEL_SUBNET=(\S+)/m.exec(r.stdout)?.[1] ?? null) : null;
    });
    say(`${node}: leased ${subnet}`);
    out.set(node, subnet);
  }
  return out;
}

interface AgentStatus {
  backend: string;
  storeReachable: boolean;
  lease: { subnet: string; publicIp: string } | null;
  routes: { subnet: string; via: string }[];
}

const UNDERLAY_IPS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const STATUS_FETCH = "fetch('http://127.0.0.1:9465/status').then((r) => r.text()).then((t) => process.stdout.write(t))";

/** Each agent's /status: vxlan, its lease, etcd reachable, and a route to each other node's subnet via that node. */
async function checkAgents(subnets: Map<string, string>): Promise<void> {
  const nets = new Map([...subnets].map(([n, s]) => [n, s.replace(/\.\d+\/24$/, '.0/24')]));
  for (const [i, node] of NODES.entries()) {
    const want = NODES.filter((n) => n !== node)
      .map((n) => `${nets.get(n)} via ${UNDERLAY_IPS[NODES.indexOf(n)]}`)
      .sort();
    let last: AgentStatus | null = null;
    await waitFor(`${node}'s routes to the other two nodes`, 30_000, async () => {
      last = JSON.parse((await exec(node, ['node', '-e', STATUS_FETCH])).stdout) as AgentStatus;
      return last.routes.length >= 2 ? true : null;
    }).catch((e: Error) => assert.unreachable(`${e.message}: ${JSON.stringify(last)}`));
    const st = last! as AgentStatus;
    assert.is(st.backend, 'vxlan', `${node} runs the vxlan backend`);
    assert.ok(st.storeReachable, `${node} reaches etcd`);
    assert.is(st.lease?.subnet, nets.get(node), `${node}'s /status lease matches its subnet.env`);
    assert.is(st.lease?.publicIp, UNDERLAY_IPS[i], `${node}'s lease carries its underlay address`);
    assert.equal(st.routes.map((r) => `${r.subnet} via ${r.via}`).sort(), want, `${node}'s peer routes`);
    say(`${node}: /status vxlan, routes ${want.join(', ')}`);
  }
}

async function podAddresses(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const pod of PODS) {
    const ip = await waitFor(`${pod}'s address`, 60_000, async () => {
      if (!(await serviceRunning(pod))) await failWithLogs(pod, 'container stopped');
      const r = await exec(pod, ['cat', '/run/pod-ip'], { allowFailure: true });
      return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
    });
    out.set(pod, ip);
  }
  return out;
}

/**
 * Each pod came through its node's CNI chain: host-local's reservation file for its address names the pod, the
 * result the node kept says that address, the pod's eth0 has the lease's MTU, and its peer is a port of cni0.
 */
async function checkCniAttachments(subnets: Map<string, string>, pods: Map<string, string>): Promise<void> {
  for (const [i, pod] of PODS.entries()) {
    const node = NODES[i]!;
    const ip = pods.get(pod)!;
    const lease = subnets.get(node)!;
    assert.ok(ip.startsWith(lease.replace(/\.\d+\/24$/, '.')), `${pod}'s ${ip} is in ${node}'s lease ${lease}`);
    const reservation = await exec(node, ['cat', `/var/lib/cni/networks/cbr0/${ip}`], { allowFailure: true });
    // host-local writes the container ID and the interface name on two lines, with CRLF
    assert.is(reservation.stdout.split(/\r?\n/)[0], pod, `host-local on ${node} reserved ${ip} for ${pod}`);
    const result = JSON.parse((await exec(node, ['cat', '/run/weft-pod/result.json'])).stdout) as {
      ips: { address: string }[];
    };
    assert.is(result.ips[0]?.address.split('/')[0], ip, `the CNI result on ${node} names ${pod}'s address`);
    const ports = (await exec(node, ['ip', '-o', 'link', 'show', 'master', 'cni0'])).stdout;
    assert.match(ports, /veth/, `${node}'s cni0 has the pod's veth as a port`);
    say(`${pod}: ${ip} reserved by host-local on ${node}, veth on cni0`);
  }
}

async function udpOut(node: string): Promise<number> {
  const snmp = (await exec(node, ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = snmp.map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf('OutDatagrams')]);
}

async function checkPodTraffic(subnets: Map<string, string>, pods: Map<string, string>): Promise<void> {
  const nets = [...subnets.values()].map((s) => s.replace(/\.\d+\/24$/, '.0/24'));
  assert.is(new Set(nets).size, NODES.length, `three distinct leases: ${nets.join(' ')}`);
  for (const n of nets) assert.match(n, /^10\.244\.\d+\.0\/24$/, `lease ${n} inside 10.244.0.0/16 with SubnetLen 24`);
  for (const [i, pod] of PODS.entries()) {
    const route = (await exec(pod, ['ip', 'route', 'show', 'default'])).stdout;
    assert.ok(route.includes(`via ${subnets.get(NODES[i])!.split('/')[0]}`), `${pod} routes via ${NODES[i]}: ${route}`);
  }
  // The first ping waits for the agents to learn each other's leases; after that every pair must answer at once.
  const [a, b, c] = PODS.map((p) => pods.get(p)!);
  await waitFor(`pod1 -> pod2 (${b}) to answer`, 60_000, async () =>
    (await exec('pod1', ['ping', '-c', '1', '-W', '2', b!], { allowFailure: true })).code === 0 ? true : null,
  );
  for (const [from, to] of [
    ['pod1', b],
    ['pod1', c],
    ['pod2', a],
    ['pod2', c],
    ['pod3', a],
    ['pod3', b],
  ] as const) {
    const r = await exec(from, ['ping', '-c', '3', '-i', '0.2', '-W', '2', to!], { allowFailure: true });
    assert.is(r.code, 0, `${from} -> ${to}: ${r.stdout}${r.stderr}`);
    say(`${from} -> ${to}: ${/(\d+) received/.exec(r.stdout)?.[0] ?? '?'}`);
  }
  // Full-size packets with DF set: the pods' MTU (from subnet.env) must fit in the VXLAN overhead.
  const mtu = Number((await exec('node1', ['cat', '/run/flannel/subnet.env'])).stdout.match(/FLANNEL_MTU=(\d+)/)![1]);
  const big = await exec('pod1', ['ping', '-c', '2', '-W', '2', '-M', 'do', '-s', String(mtu - 28), c!], {
    allowFailure: true,
  });
  assert.is(big.code, 0, `pod1 -> pod3 with ${mtu}-byte DF packets: ${big.stdout}${big.stderr}`);
  // The pings left node1 as UDP datagrams of its agent: VXLAN over the underlay, not some other path.
  const before = await udpOut('node1');
  await exec('pod1', ['ping', '-c', '10', '-i', '0.05', '-W', '2', b!]);
  const sent = (await udpOut('node1')) - before;
  assert.ok(sent >= 10, `node1 sent ${sent} UDP datagrams for 10 pings to another node's pod`);
  await tcpTransfer('pod1', 'pod2', b!);
}

// A TCP transfer with a content check, in Node (inside the image): the server answers "BYTES SHA256" of what
// it received once the client half-closes; the client compares that with what it sent. (iperf3 3.12's
// sum_received undercounts `-n` transfers now and then, so it cannot be the check.)
const TCP_SERVER = `const net = require('net'), c = require('crypto');
const srv = net.createServer({ allowHalfOpen: true }, (s) => {
  const h = c.createHash('sha256'); let n = 0;
  s.on('data', (b) => { h.update(b); n += b.length; });
  s.on('end', () => { s.end(n + ' ' + h.digest('hex')); srv.close(); });
}).listen(Number(process.argv[1]));
setTimeout(() => process.exit(1), 60000).unref();`;
const TCP_CLIENT = `const net = require('net'), c = require('crypto');
const [host, port, len] = process.argv.slice(1); const data = c.randomBytes(Number(len));
const s = net.connect({ host, port: Number(port), allowHalfOpen: true }); let reply = '';
s.on('data', (b) => { reply += b; });
s.on('end', () => { console.log(JSON.stringify({ sent: data.length + ' ' + c.createHash('sha256').update(data).digest('hex'), reply })); s.end(); });
s.on('error', (e) => { console.error(e.code || e.message); process.exit(1); });
s.end(data);`;

async function tcpTransfer(client: string, server: string, serverIp: string): Promise<void> {
  const bytes = 4 * 1024 * 1024;
  const port = '5202';
  await exec(server, ['node', '-e', TCP_SERVER, port], {}, true);
  const r = await waitFor(`TCP ${client} -> ${server}`, 20_000, async () => {
    const t = await exec(client, ['node', '-e', TCP_CLIENT, serverIp, port, String(bytes)], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    return t.code === 0 || !/ECONNREFUSED/.test(t.stderr) ? t : null;
  });
  assert.is(r.code, 0, `TCP ${client} -> ${server}: ${r.stdout}${r.stderr}`);
  const { sent, reply } = JSON.parse(r.stdout) as { sent: string; reply: string };
  assert.is(reply, sent, `${server} received exactly the ${bytes} bytes ${client} sent (length and SHA-256)`);
  say(`TCP ${client} -> ${server}: ${bytes} bytes, checksums match`);
}

async function tearDown(): Promise<string[]> {
  const left: string[] = [];
  if (dockerd?.running) {
    say('teardown: docker-compose down -v');
    const r = await compose(['down', '-v', '-t', '5'], { allowFailure: true, timeoutMs: 120_000 });
    if (r.code !== 0) left.push(`docker-compose down failed: ${r.stderr.trim()}`);
  }
  if (dockerd) {
    say(`teardown: stopping dockerd ${dockerd.pid}`);
    left.push(...(await dockerd.teardown()));
  }
  await scope?.cleanup();
  for (const l of left) say(`teardown: left over: ${l}`);
  return left;
}

if (canRunPrivileged(WHAT) && ensureTools() && canRunWith(WHAT, [...Object.keys(TOOLS), 'findmnt'])) {
  test('compose topology: three weft nodes, a pod each, pod-to-pod across nodes, clean teardown', async () => {
    const linksBefore = rootLinks();
    let left: string[] = [];
    try {
      await bringUp();
      await checkIsolation(linksBefore);
      const subnets = await leases();
      await checkAgents(subnets);
      const pods = await podAddresses();
      await checkCniAttachments(subnets, pods);
      await checkPodTraffic(subnets, pods);
    } finally {
      left = await tearDown();
    }
    assert.equal(left, [], 'teardown found nothing left over');
    assert.not.ok(alive(dockerd!.pid), 'dockerd is gone');
    assert.equal(await listLabNamespaces(SCOPE), [], 'no namespace left');
    assert.not.ok(existsSync(scope!.dir), `${scope!.dir} removed`);
    assert.equal(rootLinks(), linksBefore, 'root namespace interfaces unchanged');
    say('done');
  });
}

test.run();
