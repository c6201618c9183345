// The real agent (startAgent) with EnableIPv6, on fake ports and fake interface facts, no root: a dual-stack lease
// with PublicIPv6 and the IPv6 VTEP's BackendV6Data, subnet.env's IPv6 pair, and one clear log line plus a /status
// entry saying IPv6 pod traffic is not forwarded yet by the backend. IPv6 only holds an IPv6-only lease and starts no
// IPv4 dataplane, no masquerade rules; BGP route sync is refused there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelNetwork, ChannelTun } from '@weft/tunnel';
import { formatIpv6 } from '@weft/netaddr';
import {
  ConfigError,
  LeaseRouteSource,
  MemoryLeaseStore,
  createLogger,
  leaseKey,
  parseAgentArgs,
  startAgent,
  subnetEnvValues,
  type AgentPorts,
  type IfaceFacts,
  type LeaseStore,
} from './support/internals.ts';
import { logLines, RecordingLink } from './support/fake-node.ts';
import { dualStackConf, ipv6OnlyConf } from './support/net-confs.ts';

const facts: IfaceFacts = {
  links: async () => [{ name: 'eth0', mtu: 1500, addresses: ['192.0.2.1'] }],
  routeDevice: async () => 'eth0',
  defaultRouteDevice: async () => 'eth0',
  links6: async () => [{ name: 'eth0', mtu: 1500, addresses: ['2001:db8::1', 'fe80::1'] }],
  defaultRouteDevice6: async () => 'eth0',
};
const DUAL = dualStackConf('vxlan');
const ONLY6 = ipv6OnlyConf('vxlan');

/**
 * Never a silent half-working state: a backend that does not forward IPv6 says so in exactly one warning at start
 * and in /status (naming itself); one that does forward says how in /status and logs no such line.
 */
function saysWhetherForwarded(lines: string[], ipv6: { forwarded: boolean; reason: string }, backend: string): void {
  const notice = lines.filter((l) => l.includes(`IPv6 pod traffic is not forwarded yet by backend ${backend}`));
  if (ipv6.forwarded) {
    assert.equal(notice, [], 'no "not forwarded" line when it is forwarded');
    assert.ok(ipv6.reason.length > 0, 'status says how');
    return;
  }
  assert.is(notice.length, 1, 'one line, at start');
  assert.match(notice[0]!, /"level":40/);
  assert.match(ipv6.reason, new RegExp(`not forwarded yet by backend ${backend}`));
}

/** `fromStore`: no net-conf file, the config read from the store (as with etcd), so the families come late. */
async function start(
  conf: object,
  store: LeaseStore,
  extraArgs: string[] = [],
  opts: { fromStore?: boolean; facts?: IfaceFacts } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'v6c-agent-'));
  const confFile = join(dir, 'net-conf.json');
  writeFileSync(confFile, JSON.stringify(conf));
  const { lines, destination } = logLines();
  const opened = { tun: 0, firewall: 0 };
  const link = new RecordingLink('192.0.2.1');
  const ports: AgentPorts = {
    openTun: (t) => (opened.tun++, new ChannelTun({ batchSize: t.batchSize, mtu: 1500 })),
    openUdp: (u) => new ChannelNetwork().bind(u.address, u.port, { batchSize: u.batchSize }),
    link,
    firewall: {
      apply: async () => void opened.firewall++,
      remove: async () => void opened.firewall++,
    } as unknown as AgentPorts['firewall'],
  };
  const settings = {
    ...parseAgentArgs(
      [
        ...(opts.fromStore ? ['--etcd-endpoints', 'http://127.0.0.1:27799'] : ['--net-config-path', confFile]),
        ...['--subnet-file', join(dir, 'subnet.env'), '--metrics-port', '0', ...extraArgs],
      ],
      { hostname: 'node-a' },
    ),
  };
  if (opts.fromStore) await store.putConfig(JSON.stringify(conf));
  try {
    const agent = await startAgent(settings, createLogger({ level: 'info', destination }), {
      ports,
      offloads: false,
      routes: new LeaseRouteSource(),
      openStore: () => store,
      ifaceFacts: opts.facts ?? facts,
    });
    return { agent, lines, opened, link, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

test('dual stack: one lease with both subnets and the IPv6 attrs; one clear line and /status say not forwarded', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const { agent, lines, opened, cleanup } = await start(DUAL, store);
  try {
    const lease = agent.lease()!;
    assert.match(leaseKey(lease.subnet, lease.ipv6Subnet), /^10\.244\.\d+\.0-24&fd00:10:244:[0-9a-f]+::-64$/);
    const [stored] = (await store.listLeases()).leases;
    assert.is(stored!.attrs.PublicIP, '192.0.2.1');
    assert.is(stored!.attrs.PublicIPv6, '2001:db8::1', "the interface's global IPv6 address, not its link-local one");
    const v4data = stored!.attrs.BackendData as { VtepMAC: string };
    const v6data = stored!.attrs.BackendV6Data as { VNI: number; VtepMAC: string };
    assert.is(v6data.VNI, 1);
    assert.match(v6data.VtepMAC, /^0a:58(:[0-9a-f]{2}){4}$/);
    assert.is.not(v6data.VtepMAC, v4data.VtepMAC, 'the IPv6 VTEP has its own MAC, as flannel-v6.1 does');
    const s = agent.status();
    assert.equal(s.ipv6, {
      subnet: `${leaseKey(lease.subnet, lease.ipv6Subnet).split('&')[1]!.replace('-', '/')}`,
      publicIp: '2001:db8::1',
      forwarded: s.ipv6!.forwarded,
      reason: s.ipv6!.reason,
    });
    saysWhetherForwarded(lines, s.ipv6!, 'vxlan');
    assert.is(s.backend, 'vxlan', 'the IPv4 dataplane runs as before');
    assert.is(opened.tun, 1);
    assert.ok(opened.firewall > 0, 'IPv4 masquerade/forward rules as before');
    const env = subnetEnvValues(agent.config, lease.subnet, agent.network.mtu, false, lease.ipv6Subnet);
    assert.equal(Object.keys(env), [
      'FLANNEL_NETWORK',
      'FLANNEL_SUBNET',
      'FLANNEL_IPV6_NETWORK',
      'FLANNEL_IPV6_SUBNET',
      'FLANNEL_MTU',
      'FLANNEL_IPMASQ',
    ]);
    assert.is(env.FLANNEL_IPV6_NETWORK, 'fd00:10:244::/56');
  } finally {
    await agent.stop();
    cleanup();
  }
});

test('dual stack on udp: the lease, and the log and /status agree on whether IPv6 is forwarded', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const { agent, lines, cleanup } = await start(dualStackConf('udp'), store);
  try {
    assert.ok(agent.lease()!.ipv6Subnet);
    assert.not.ok('BackendV6Data' in (await store.listLeases()).leases[0]!.attrs, 'vxlan data only');
    saysWhetherForwarded(lines, agent.status().ipv6!, 'udp');
  } finally {
    await agent.stop();
    cleanup();
  }
});

test('IPv6 only: an IPv6-only lease, flannel0 for IPv6 alone (no IPv4 address, route or rule), forwarded', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const { agent, lines, opened, link, cleanup } = await start(ONLY6, store);
  try {
    const lease = agent.lease()!;
    assert.match(leaseKey(lease.subnet, lease.ipv6Subnet), /^0\.0\.0\.0-0&fd00:10:244:[0-9a-f]+::-64$/);
    const [stored] = (await store.listLeases()).leases;
    assert.is(stored!.attrs.PublicIP, '0.0.0.0');
    assert.is(stored!.attrs.PublicIPv6, '2001:db8::1');
    assert.not.ok('BackendData' in stored!.attrs);
    assert.is(opened.tun, 1, 'flannel0');
    assert.is(opened.firewall, 0, 'no masquerade or forward rule for a 0.0.0.0/0 "subnet"');
    assert.equal(link.links[0]!.cfg.addresses, [], 'no IPv4 address');
    assert.equal(link.links[0]!.cfg.routes, [], 'no IPv4 route');
    assert.equal(link.lines, [
      `addr replace ${formatIpv6(lease.ipv6Subnet!.ip)}/128 dev flannel0`,
      'route replace fd00:10:244::/56 dev flannel0 mtu 1430',
    ]);
    assert.is(agent.network.mtu, 1430, "vxlan over IPv6: flannel's 70 bytes");
    saysWhetherForwarded(lines, agent.status().ipv6!, 'vxlan');
    assert.ok(agent.status().ipv6!.forwarded);
    const env = subnetEnvValues(agent.config, lease.subnet, agent.network.mtu, false, lease.ipv6Subnet);
    assert.equal(Object.keys(env), ['FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ']);
  } finally {
    await agent.stop();
    cleanup();
  }
  assert.is(opened.firewall, 0, 'and none removed at stop');
});

test('config from the store (no file): the underlay is chosen again for its families, also on an IPv6-only host', async () => {
  const store = new MemoryLeaseStore({ pollMs: 5 });
  const dual = await start(DUAL, store, [], { fromStore: true });
  try {
    const [stored] = (await store.listLeases()).leases;
    assert.is(stored!.attrs.PublicIPv6, '2001:db8::1', 'selected after the store said EnableIPv6');
    assert.ok(dual.agent.lease()!.ipv6Subnet);
  } finally {
    await dual.agent.stop();
    dual.cleanup();
  }
  const v6host: IfaceFacts = { ...facts, links: async () => [{ name: 'eth0', mtu: 1500, addresses: [] }] };
  const only6 = await start(ONLY6, new MemoryLeaseStore(), [], { fromStore: true, facts: v6host });
  try {
    assert.is(only6.agent.publicIp, '0.0.0.0', 'the failed IPv4 selection did not matter: IPv6 only');
    assert.is(only6.agent.status().ipv6!.publicIp, '2001:db8::1');
  } finally {
    await only6.agent.stop();
    only6.cleanup();
  }
  try {
    await start({ Network: '10.244.0.0/16' }, new MemoryLeaseStore(), [], { fromStore: true, facts: v6host });
    assert.unreachable('an IPv4 network on a host without IPv4 started');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, /no IPv4 address/);
  }
});

test('IPv6 only with vxlan refuses BGP route sync (IPv6 routes carry no VTEP MAC), before any lease', async () => {
  const store = new MemoryLeaseStore();
  const kept: LeaseStore = Object.assign(Object.create(store) as LeaseStore, { close: async () => {} });
  try {
    await start(ONLY6, kept, ['--route-sync', 'bgp']);
    assert.unreachable('started');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, '--route-sync');
  }
  assert.equal((await store.listLeases()).leases, []);
});

test.run();
