// The weft CNI plugin driven exactly as a container runtime drives it (test/support/cni-runtime.ts: CNI_* in the
// environment, the configuration on stdin, the result on stdout), in its production form (the launcher that
// `weft cni install` writes, running the one-file bundle that the install builds), with Debian's bridge,
// host-local, portmap and loopback (containernetworking-plugins, /usr/lib/cni):
// - install: the launcher and conflist land in temp dirs, the standard plugins are found and named;
// - every error case returns its CNI error object (code, msg) with a non-zero exit;
// - one node with a hand-written subnet.env: addresses in the lease, a ping within the node, CHECK, results in
//   1.0.0 / 0.4.0 / 0.3.1, DEL after subnet.env changed and after it vanished, DEL twice, reservations released;
// - two nodes with real weft agents (vxlan, --ip-masq=true): containers get addresses in their node's lease, reach
//   each other within and across nodes, reach an outside host through the agent's masquerade; CHECK; DEL twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { labUp, type RunningLab } from 'weft/lab';
import { CniRuntime, runPlugin, type Attachment, type ConfList } from './support/cni-runtime.ts';
import { pingCount, subnetEnvOf, waitForPing } from './support/agent-lab.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const WEFT = fileURLToPath(new URL('../agent/bin/weft.mjs', import.meta.url));
const STD = '/usr/lib/cni';
const PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];
const PROD = { WEFT_RUN: 'dist' };

function weftCli(args: string[]) {
  return spawnSync(process.execPath, [WEFT, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...PROD, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** `weft cni install` into fresh temp dirs; the bin dir (holding the launcher) and the conf dir. */
function install(tmp: string): { bin: string; conf: string; out: string } {
  const bin = join(tmp, 'bin');
  const conf = join(tmp, 'net.d');
  const r = weftCli(['cni', 'install', '--bin-dir', bin, '--conf-dir', conf]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  return { bin, conf, out: r.stdout };
}

/** The conflist `weft cni install` wrote, pointed at this test's files (subnet.env, state and reservations). */
function confList(
  conf: string,
  dirs: { subnetFile: string; dataDir: string; ipamDir: string },
  cniVersion = '1.0.0',
): ConfList {
  const list = JSON.parse(readFileSync(join(conf, '10-weft.conflist'), 'utf8')) as ConfList;
  const weft = list.plugins[0]!;
  Object.assign(weft, { subnetFile: dirs.subnetFile, dataDir: dirs.dataDir, ipam: { dataDir: dirs.ipamDir } });
  return { ...list, name: 'h10net', cniVersion };
}

/** host-local's reservation files (one per address) for network h10net. */
function reservations(ipamDir: string): string[] {
  const dir = join(ipamDir, 'h10net');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

function addressOf(result: Record<string, unknown>): string {
  const ips = result.ips as { address: string; version?: string }[];
  assert.ok(Array.isArray(ips) && ips.length === 1, JSON.stringify(result));
  return ips[0]!.address.split('/')[0]!;
}

const inSubnet24 = (ip: string, subnetFirst: string) =>
  ip.split('.').slice(0, 3).join('.') === subnetFirst.split('.').slice(0, 3).join('.');

function mustAdd(rt: CniRuntime, at: Attachment): Record<string, unknown> {
  const r = rt.add(at);
  if ('failed' in r) assert.unreachable(`ADD ${at.containerId}: ${r.failed} failed: ${r.run.stdout}${r.run.stderr}`);
  return (r as { result: Record<string, unknown> }).result;
}

function mustPass(what: string, r: { failed: string; run: { stdout: string; stderr: string } } | null): void {
  assert.is(r, null, r ? `${what}: ${r.failed} failed: ${r.run.stdout}${r.run.stderr}` : '');
}

/** The loopback network every runtime adds besides the pod network. */
function loopbackUp(node: Netns, at: Attachment, cniVersion: string): void {
  const r = runPlugin(node, join(STD, 'loopback'), 'ADD', { ...at, ifName: 'lo' }, STD, {
    cniVersion,
    name: 'lo',
    type: 'loopback',
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
}

/** ADD (and CHECK where the version has it) then DEL with 0.4.0 and 0.3.1 lists: results tag each ips entry's version. */
async function otherVersions(scope: LabScope, node: Netns, bin: string, ...lists: ConfList[]): Promise<void> {
  for (const list of lists) {
    const rt = new CniRuntime(node, `${bin}:${STD}`, list, PROD);
    const c: Attachment = {
      ns: await scope.netns(`v${list.cniVersion.replaceAll('.', '')}`),
      containerId: `h10-min-v${list.cniVersion}`,
    };
    const r = mustAdd(rt, c);
    assert.is(r.cniVersion, list.cniVersion);
    assert.is((r.ips as { version: string }[])[0]!.version, '4', `${list.cniVersion} results tag the ips version`);
    if (list.cniVersion === '0.4.0') mustPass('CHECK 0.4.0', rt.check(c));
    mustPass(`DEL ${list.cniVersion}`, rt.del(c));
  }
}

if (
  canRunWith('CNI plugin with Debian containernetworking-plugins', [
    ...PLUGINS.map((p) => join(STD, p)),
    'iptables',
    'ping',
  ])
) {
  const tmp = mkdtempSync(join(tmpdir(), 'h10-cni-'));
  test.after(() => rmSync(tmp, { recursive: true, force: true }));

  test('the production form is current: @weft/cni compiles, and the agent with it (or its dist shim is current)', () => {
    const tsc = (project: string) =>
      spawnSync(process.execPath, [TSC, '-b', project], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    const cni = tsc('packages/cni');
    assert.is(cni.status, 0, cni.stdout + cni.stderr);
    if (tsc('agent').status === 0) return;
    // others' work in progress may keep the agent from compiling; the shim (15 lines) must then still be current
    const [src, out] = [join(ROOT, 'agent/src/cni-plugin.ts'), join(ROOT, 'agent/dist/cni-plugin.js')];
    assert.ok(existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs, `${out} is missing or stale`);
  });

  test('weft cni install: an executable weft and a conflist (weft, portmap); names where the standard plugins are', () => {
    const { bin, conf, out } = install(join(tmp, 'a'));
    assert.ok(statSync(join(bin, 'weft')).mode & 0o111, 'launcher is executable');
    const list = JSON.parse(readFileSync(join(conf, '10-weft.conflist'), 'utf8')) as ConfList;
    assert.equal(
      list.plugins.map((p) => p.type),
      ['weft', 'portmap'],
    );
    assert.match(out, new RegExp(`standard plugins: ${STD}\\n`));
    const v = spawnSync(join(bin, 'weft'), [], {
      env: { PATH: process.env.PATH, ...PROD, CNI_COMMAND: 'VERSION' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.is(v.status, 0, v.stdout + v.stderr);
    const info = JSON.parse(v.stdout) as { supportedVersions: string[] };
    for (const ver of ['0.3.1', '0.4.0', '1.0.0']) assert.ok(info.supportedVersions.includes(ver), v.stdout);
    // plugins in the bin dir itself are found there first
    const b = join(tmp, 'b', 'bin');
    mkdirSync(b, { recursive: true });
    for (const p of PLUGINS) symlinkSync(join(STD, p), join(b, p));
    const again = weftCli(['cni', 'install', '--bin-dir', b, '--conf-dir', join(tmp, 'b', 'net.d')]);
    assert.match(again.stdout, new RegExp(`standard plugins: ${b}\\n`));
  });

  test('errors: each case prints its CNI error object (code, msg) and exits non-zero; nothing is saved', async () => {
    const { bin } = install(join(tmp, 'err'));
    const scope = new LabScope('h10-cni-err');
    try {
      const node = await scope.netns('node');
      const ctr = await scope.netns('c');
      const dataDir = join(tmp, 'err', 'state');
      const good = join(tmp, 'err', 'subnet.env');
      writeFileSync(
        good,
        'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
      );
      const bad = join(tmp, 'err', 'bad.env');
      writeFileSync(bad, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_IPMASQ=true\n');
      const conf = (extra: object) => ({
        cniVersion: '1.0.0',
        name: 'h10net',
        type: 'weft',
        dataDir,
        subnetFile: good,
        ...extra,
      });
      const at = { ns: ctr, containerId: 'h10-err-1' };
      const cases: [string, string, unknown, string, number, RegExp][] = [
        ['bad JSON', 'ADD', '{"cniVersion": "1.0.0", "name"', `${bin}:${STD}`, 6, /not JSON/],
        ['unknown version', 'ADD', conf({ cniVersion: '9.9.9' }), `${bin}:${STD}`, 1, /9\.9\.9/],
        [
          'missing subnet.env',
          'ADD',
          conf({ subnetFile: join(tmp, 'err', 'none.env') }),
          `${bin}:${STD}`,
          11,
          /none\.env does not exist/,
        ],
        ['malformed subnet.env', 'ADD', conf({ subnetFile: bad }), `${bin}:${STD}`, 100, /FLANNEL_MTU is missing/],
        ['no delegate plugin in CNI_PATH', 'ADD', conf({}), bin, 4, /CNI_PATH has no plugin "bridge"/],
        [
          'CHECK of a container never added',
          'CHECK',
          conf({ prevResult: { cniVersion: '1.0.0' } }),
          `${bin}:${STD}`,
          3,
          /h10-err-1 was not added/,
        ],
        [
          'CHECK with a 0.3.1 config',
          'CHECK',
          conf({ cniVersion: '0.3.1' }),
          `${bin}:${STD}`,
          1,
          /CHECK needs cniVersion 0\.4\.0/,
        ],
      ];
      for (const [what, command, config, cniPath, code, msg] of cases) {
        const r = runPlugin(node, join(bin, 'weft'), command, at, cniPath, config, PROD);
        assert.ok(r.code !== 0, `${what}: exit ${r.code}`);
        assert.ok(r.json, `${what}: stdout is not JSON: ${r.stdout} ${r.stderr}`);
        assert.is(r.json!.code, code, `${what}: ${r.stdout}`);
        assert.match(String(r.json!.msg), msg, what);
        assert.type(r.json!.cniVersion, 'string', what);
      }
      const noId = runPlugin(node, join(bin, 'weft'), 'ADD', null, `${bin}:${STD}`, conf({}), PROD);
      assert.is(noId.json?.code, 4, noId.stdout);
      assert.match(String(noId.json?.msg), /CNI_CONTAINERID/);
      assert.not.ok(existsSync(join(dataDir, 'h10-err-1')), 'a failed ADD before the delegate ran saved nothing');
      const del = runPlugin(node, join(bin, 'weft'), 'DEL', at, `${bin}:${STD}`, conf({}), PROD);
      assert.is(del.code, 0, `DEL of a container never added succeeds: ${del.stdout}`);
    } finally {
      await scope.cleanup();
    }
  });

  test('one node, hand-written subnet.env: ADD, ping within the node, CHECK, versions, DEL after subnet.env changed or vanished, DEL twice', async () => {
    const { bin, conf } = install(join(tmp, 'min'));
    const scope = new LabScope('h10-cni-min');
    const subnetFile = join(tmp, 'min', 'subnet.env');
    const dirs = { subnetFile, dataDir: join(tmp, 'min', 'state'), ipamDir: join(tmp, 'min', 'ipam') };
    writeFileSync(
      subnetFile,
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n',
    );
    try {
      const node = await scope.netns('node');
      const rt = new CniRuntime(node, `${bin}:${STD}`, confList(conf, dirs), PROD);
      const a: Attachment = { ns: await scope.netns('a'), containerId: 'h10-min-a' };
      const b: Attachment = { ns: await scope.netns('b'), containerId: 'h10-min-b' };
      const ra = mustAdd(rt, a);
      const rb = mustAdd(rt, b);
      for (const at of [a, b]) loopbackUp(node, at, '1.0.0');
      const [ipA, ipB] = [addressOf(ra), addressOf(rb)];
      assert.ok(inSubnet24(ipA, '10.244.7.0') && inSubnet24(ipB, '10.244.7.0') && ipA !== ipB, `${ipA} ${ipB}`);
      assert.is(ra.cniVersion, '1.0.0');
      assert.not.ok('version' in (ra.ips as object[])[0]!, '1.0.0 results carry no ips version');
      const link = JSON.parse((await a.ns.ip(['-j', 'addr', 'show', 'eth0'])).stdout) as { mtu: number }[];
      assert.is(link[0]!.mtu, 1400, 'the MTU from subnet.env');
      assert.match((await a.ns.ip(['route', 'show', '10.244.0.0/16'])).stdout, /via 10\.244\.7\.1/);
      assert.match((await node.ip(['addr', 'show', 'cni0'])).stdout, /10\.244\.7\.1\/24/);
      assert.equal(reservations(dirs.ipamDir).sort(), [ipA, ipB].sort());
      assert.is(JSON.parse(readFileSync(join(dirs.dataDir, a.containerId), 'utf8')).type, 'bridge');
      assert.is(await pingCount(a, ipB, 3), 3, 'a reaches b within the node');
      mustPass('CHECK a', rt.check(a));
      mustPass('CHECK b', rt.check(b));

      await otherVersions(scope, node, bin, confList(conf, dirs, '0.4.0'), confList(conf, dirs, '0.3.1'));

      // The node's lease changed: DEL still releases what ADD reserved (the saved delegate config, not subnet.env).
      writeFileSync(
        subnetFile,
        'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n',
      );
      mustPass('DEL a', rt.del(a));
      mustPass('DEL a again', rt.del(a));
      assert.equal(reservations(dirs.ipamDir), [ipB]);
      assert.not.ok(existsSync(join(dirs.dataDir, a.containerId)));
      assert.is(
        (await a.ns.ip(['link', 'show', 'eth0'], { allowFailure: true })).code === 0,
        false,
        "a's eth0 is gone",
      );
      // subnet.env vanished (agent stopped): DEL still works.
      unlinkSync(subnetFile);
      mustPass('DEL b', rt.del(b));
      mustPass('DEL b again', rt.del(b));
      assert.equal(reservations(dirs.ipamDir), [], 'every address released');
      assert.equal(readdirSync(dirs.dataDir), [], 'no saved configuration left');
    } finally {
      await scope.cleanup();
    }
  });

  test('two nodes with weft agents (vxlan, --ip-masq=true): leases, within and across nodes, masquerade out, CHECK, DEL twice', async () => {
    const { bin, conf } = install(join(tmp, 'two'));
    let run: RunningLab | undefined;
    try {
      run = await labUp({
        name: 'h10-cni',
        nodes: 2,
        pods: 0,
        backend: 'vxlan',
        routeSync: 'lease',
        store: 'embedded',
        agentArgs: ['--ip-masq=true'],
      });
      const lab = run.lab;
      // an outside host: an address on the underlay bridge, outside the cluster network, with no route back to pods
      await lab.underlay.ip(['addr', 'add', '192.0.2.250/24', 'dev', 'br0']);
      const nodes = lab.nodes.map((node) => {
        const env = subnetEnvOf(run!, node);
        assert.is(env.FLANNEL_IPMASQ, 'true', 'the agent masquerades, so the bridge must not');
        const dirs = {
          subnetFile: join(lab.scope.dir, node.name, 'subnet.env'),
          dataDir: join(tmp, 'two', node.name, 'state'),
          ipamDir: join(tmp, 'two', node.name, 'ipam'),
        };
        return {
          node,
          lease: env.FLANNEL_SUBNET!,
          dirs,
          rt: new CniRuntime(node.ns, `${bin}:${STD}`, confList(conf, dirs), PROD),
        };
      });
      const ctrs: { at: Attachment; n: (typeof nodes)[number]; ip: string }[] = [];
      for (const [n, name] of [
        [nodes[0]!, 'c11'],
        [nodes[0]!, 'c12'],
        [nodes[1]!, 'c21'],
      ] as const) {
        const at: Attachment = { ns: await lab.scope.netns(name), containerId: `h10-two-${name}` };
        const ip = addressOf(mustAdd(n.rt, at));
        loopbackUp(n.node.ns, at, '1.0.0');
        assert.ok(inSubnet24(ip, n.lease), `${name}: ${ip} in ${n.node.name}'s lease ${n.lease}`);
        ctrs.push({ at, n, ip });
      }
      const [c11, c12, c21] = ctrs as [(typeof ctrs)[number], (typeof ctrs)[number], (typeof ctrs)[number]];
      assert.is(await pingCount(c11.at, c12.ip, 3), 3, 'within node n1');
      await waitForPing({ name: 'c11', ns: c11.at.ns, ip: c11.ip }, c21.ip, 20_000, 'c11 -> c21 across nodes');
      assert.is(await pingCount(c11.at, c21.ip, 3), 3, 'n1 -> n2 through weft');
      assert.is(await pingCount(c21.at, c12.ip, 3), 3, 'n2 -> n1 through weft');
      assert.is(await pingCount(c21.at, '192.0.2.250', 3), 3, 'to the outside host, masqueraded by the agent');
      // A port with the lowest possible MAC joins n1's cni0: a bridge whose MAC was never set would take it, and
      // bridge's CHECK would then refuse c11 and c12; the plugin set cni0's MAC at ADD, so it stays.
      const n1 = nodes[0]!.node.ns;
      await n1.ip([
        'link',
        'add',
        'lowmac0',
        'address',
        '00:00:00:00:00:01',
        'type',
        'veth',
        'peer',
        'name',
        'lowmac1',
      ]);
      await n1.ip(['link', 'set', 'lowmac0', 'master', 'cni0', 'up']);
      for (const c of ctrs) mustPass(`CHECK ${c.at.containerId}`, c.n.rt.check(c.at));
      await n1.ip(['link', 'del', 'lowmac0']);
      for (const c of ctrs) {
        mustPass(`DEL ${c.at.containerId}`, c.n.rt.del(c.at));
        mustPass(`DEL ${c.at.containerId} again`, c.n.rt.del(c.at));
      }
      for (const n of nodes) {
        assert.equal(reservations(n.dirs.ipamDir), [], `${n.node.name}: addresses released`);
        assert.equal(readdirSync(n.dirs.dataDir), [], `${n.node.name}: no saved configuration left`);
      }
    } finally {
      await run?.lab.teardown();
    }
  });
}

test.run();
