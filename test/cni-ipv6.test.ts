// The weft CNI plugin with IPv6 in subnet.env, driven as a runtime drives it (the conflist and launcher that
// `weft cni install` writes, test/support/cni-runtime.ts) with Debian's bridge, host-local and portmap:
// - dual stack: each container gets an IPv4 and an IPv6 address inside the node's two subnets, a route to each
//   cluster network via the bridge, pings the bridge and the other container over IPv6; CHECK; DEL frees both
//   families' reservations;
// - IPv6 only (no FLANNEL_NETWORK / FLANNEL_SUBNET): one IPv6 address, the IPv6 route, a ping to the bridge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { CniRuntime, type Attachment, type ConfList } from './support/cni-runtime.ts';
import { pingCount } from './support/agent-lab.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEFT = fileURLToPath(new URL('../agent/bin/weft.mjs', import.meta.url));
const STD = '/usr/lib/cni';
const NET = 'cs6net';
const V4 = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.21.1/24\n';
const V6 = 'FLANNEL_IPV6_NETWORK=fd00:10::/48\nFLANNEL_IPV6_SUBNET=fd00:10:0:21::1/64\n';
const REST = 'FLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n';
const BRIDGE6 = 'fd00:10:0:21::1';

interface Ip {
  address: string;
}

/** `weft cni install` into `dir`; the bin dir and the installed conflist pointed at this test's files. */
function install(dir: string, subnetFile: string): { bin: string; list: ConfList; ipamDir: string } {
  const bin = join(dir, 'bin');
  const r = spawnSync(process.execPath, [WEFT, 'cni', 'install', '--bin-dir', bin, '--conf-dir', join(dir, 'net.d')], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  const list = JSON.parse(readFileSync(join(dir, 'net.d', '10-weft.conflist'), 'utf8')) as ConfList;
  const ipamDir = join(dir, 'ipam');
  Object.assign(list.plugins[0]!, { subnetFile, dataDir: join(dir, 'state'), ipam: { dataDir: ipamDir } });
  return { bin, list: { ...list, name: NET }, ipamDir };
}

function mustAdd(rt: CniRuntime, at: Attachment): Ip[] {
  const r = rt.add(at);
  if ('failed' in r) assert.unreachable(`ADD ${at.containerId}: ${r.failed} failed: ${r.run.stdout}${r.run.stderr}`);
  return (r as { result: { ips: Ip[] } }).result.ips;
}

function mustPass(what: string, r: { failed: string; run: { stdout: string; stderr: string } } | null): void {
  assert.is(r, null, r ? `${what}: ${r.failed} failed: ${r.run.stdout}${r.run.stderr}` : '');
}

/** host-local's reservation files (named by address) for the test's network. */
function reservations(ipamDir: string): string[] {
  const dir = join(ipamDir, NET);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^[\d.]+$|:/.test(f)) : [];
}

const v6Of = (ips: Ip[]) => ips.find((i) => i.address.includes(':'))?.address.split('/')[0] ?? '';

/** Pings until one is answered (the new addresses finish duplicate address detection first); at most ~10 s. */
async function firstPing(from: Netns, to: string): Promise<boolean> {
  for (let i = 0; i < 10; i++) if ((await pingCount({ ns: from }, to, 1)) === 1) return true;
  return false;
}

if (canRunWith('CNI plugin with IPv6 (Debian containernetworking-plugins)', [`${STD}/bridge`, 'ping'])) {
  const tmp = mkdtempSync(join(tmpdir(), 'cs-cni6-'));
  test.after(() => rmSync(tmp, { recursive: true, force: true }));

  test('dual stack: an address of each family inside the subnets, IPv6 routes and pings, CHECK, DEL frees both', async () => {
    const subnetFile = join(tmp, 'dual.env');
    writeFileSync(subnetFile, V4 + V6 + REST);
    const { bin, list, ipamDir } = install(join(tmp, 'dual'), subnetFile);
    const scope = new LabScope('cs-cni6');
    try {
      const node = await scope.netns('node');
      const rt = new CniRuntime(node, `${bin}:${STD}`, list);
      const a: Attachment = { ns: await scope.netns('a'), containerId: 'cs6-a' };
      const b: Attachment = { ns: await scope.netns('b'), containerId: 'cs6-b' };
      const [ipsA, ipsB] = [mustAdd(rt, a), mustAdd(rt, b)];
      for (const ips of [ipsA, ipsB]) {
        assert.is(ips.length, 2, JSON.stringify(ips));
        assert.match(ips[0]!.address, /^10\.244\.21\.\d+\/24$/);
        assert.match(ips[1]!.address, /^fd00:10:0:21::[0-9a-f]+\/64$/);
      }
      const [a6, b6] = [v6Of(ipsA), v6Of(ipsB)];
      assert.is.not(a6, b6);
      assert.match((await a.ns.ip(['-6', 'addr', 'show', 'eth0'])).stdout, new RegExp(`inet6 ${a6}/64`));
      assert.match((await a.ns.ip(['-6', 'route', 'show', 'fd00:10::/48'])).stdout, new RegExp(`via ${BRIDGE6}`));
      assert.match((await a.ns.ip(['route', 'show', '10.244.0.0/16'])).stdout, /via 10\.244\.21\.1/);
      assert.match((await node.ip(['-6', 'addr', 'show', 'cni0'])).stdout, new RegExp(`inet6 ${BRIDGE6}/64`));
      assert.ok(await firstPing(a.ns, BRIDGE6), 'a reaches the bridge over IPv6');
      assert.is(await pingCount(a, BRIDGE6, 3), 3, 'a pings the bridge over IPv6');
      assert.ok(await firstPing(a.ns, b6), 'a reaches b over IPv6');
      assert.is(await pingCount(a, b6, 3), 3, 'a pings b over IPv6');
      assert.equal(
        reservations(ipamDir).sort(),
        [...ipsA, ...ipsB].map((i) => i.address.split('/')[0]!).sort(),
        'host-local reserved both families',
      );
      mustPass('CHECK a', rt.check(a));
      mustPass('DEL a', rt.del(a));
      mustPass('DEL b', rt.del(b));
      mustPass('DEL b again', rt.del(b));
      assert.equal(reservations(ipamDir), [], 'DEL released both families');
    } finally {
      await scope.cleanup();
    }
  });

  test('IPv6 only: one IPv6 address and the IPv6 route; the bridge answers pings', async () => {
    const subnetFile = join(tmp, 'v6.env');
    writeFileSync(subnetFile, V6 + REST);
    const { bin, list, ipamDir } = install(join(tmp, 'v6'), subnetFile);
    const scope = new LabScope('cs-cni6o');
    try {
      const node = await scope.netns('node');
      const rt = new CniRuntime(node, `${bin}:${STD}`, list);
      const c: Attachment = { ns: await scope.netns('c'), containerId: 'cs6-c' };
      const ips = mustAdd(rt, c);
      assert.is(ips.length, 1, JSON.stringify(ips));
      assert.match(ips[0]!.address, /^fd00:10:0:21::[0-9a-f]+\/64$/);
      assert.match((await c.ns.ip(['-6', 'route', 'show', 'fd00:10::/48'])).stdout, new RegExp(`via ${BRIDGE6}`));
      assert.is((await c.ns.ip(['-4', 'addr', 'show', 'eth0'])).stdout.includes('inet '), false, 'no IPv4 address');
      assert.ok(await firstPing(c.ns, BRIDGE6), 'c reaches the bridge over IPv6');
      assert.is(await pingCount(c, BRIDGE6, 3), 3);
      mustPass('CHECK c', rt.check(c));
      mustPass('DEL c', rt.del(c));
      assert.equal(reservations(ipamDir), []);
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
