// flanneld's command lines, as flannel's documentation and kube-flannel's manifest write them (minus the
// Kubernetes subnet manager), parse unchanged into the settings they mean; FLANNELD_* variables; Go's flag syntax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT_FLAGS, parseAgentArgs, parseAgentCommandLine } from './support/internals.ts';
import { assertConfigError } from './support/config-error.ts';

const host = { hostname: 'node-a' };

function fails(argv: string[], field: string, env: Record<string, string> = {}): void {
  assertConfigError(() => parseAgentArgs(argv, { ...host, env }), field, undefined, argv.join(' '));
}

test('configuration.md key options, as documented', () => {
  const s = parseAgentArgs(
    [
      '--public-ip=192.0.2.10',
      '--etcd-endpoints=http://127.0.0.1:4001',
      '--etcd-prefix=/coreos.com/network',
      '--iface=eth0',
      '--iptables-resync=5',
      '--subnet-file=/run/flannel/subnet.env',
      '--net-config-path=/etc/kube-flannel/net-conf.json',
      '--subnet-lease-renew-margin=60',
      '--ip-masq=false',
      '--healthz-ip=0.0.0.0',
      '--healthz-port=0',
    ],
    host,
  );
  assert.equal(s.store, { kind: 'etcd', endpoints: ['http://127.0.0.1:4001'], prefix: '/coreos.com/network' });
  assert.equal(s.iface, ['eth0']);
  assert.is(s.publicIp, '192.0.2.10');
  assert.is(s.iptablesResyncSeconds, 5);
  assert.is(s.netConfigFile, '/etc/kube-flannel/net-conf.json');
  assert.is(s.renewMarginSeconds, 3600, '60 minutes');
  assert.is(s.ipMasq, false);
  assert.is(s.healthzPort, 0);
});

test('--public-ipv6 and FLANNELD_PUBLIC_IPV6 (dual stack), normalised as flanneld writes the address', () => {
  const s = parseAgentArgs(['--public-ipv6=2001:DB8:0:0::10', '--iface-can-reach=2001:db8::1'], host);
  assert.is(s.publicIpv6, '2001:db8::10');
  assert.is(s.ifaceCanReach, '2001:db8::1');
  assert.is(parseAgentArgs([], host).publicIpv6, null);
  const env = parseAgentArgs([], { ...host, env: { FLANNELD_PUBLIC_IPV6: 'fd00::7' } });
  assert.is(env.publicIpv6, 'fd00::7');
  const flagWins = parseAgentArgs(['-public-ipv6', 'fd00::8'], { ...host, env: { FLANNELD_PUBLIC_IPV6: 'fd00::7' } });
  assert.is(flagWins.publicIpv6, 'fd00::8', 'the command line wins over the environment');
  fails([], '--public-ipv6', { FLANNELD_PUBLIC_IPV6: 'fd00::zz' });
});

test("kube-flannel's manifest arguments (without --kube-subnet-mgr) and an etcd TLS unit line", () => {
  const k = parseAgentArgs(['--ip-masq', '--iface=eth1', '--iface=192.0.2.7'], host);
  assert.is(k.ipMasq, true);
  assert.equal(k.iface, ['eth1', '192.0.2.7'], 'repeatable, in order');
  const t = parseAgentArgs(
    [
      '-etcd-endpoints=https://10.0.0.1:2379,https://10.0.0.2:2379',
      '-etcd-cafile=/etc/ssl/ca.pem',
      '-etcd-certfile=/etc/ssl/flanneld.pem',
      '-etcd-keyfile=/etc/ssl/flanneld-key.pem',
      '-ip-masq',
      '-subnet-file=/run/flannel/subnet.env',
    ],
    host,
  );
  assert.equal(t.store, {
    kind: 'etcd',
    endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
    prefix: '/coreos.com/network',
    tls: { caFile: '/etc/ssl/ca.pem', certFile: '/etc/ssl/flanneld.pem', keyFile: '/etc/ssl/flanneld-key.pem' },
  });
  assert.is(t.ipMasq, true);
  assert.is(t.netConfigFile, null, 'with etcd and no file, the config comes from PREFIX/config');
});

test('a flanneld configured only through FLANNELD_* variables', () => {
  const env = {
    FLANNELD_ETCD_ENDPOINTS: 'http://192.0.2.1:2379',
    FLANNELD_ETCD_PREFIX: '/my/net',
    FLANNELD_ETCD_USERNAME: 'flannel',
    FLANNELD_ETCD_PASSWORD: 's3cret',
    FLANNELD_IFACE: 'eth0',
    FLANNELD_IFACE_REGEX: '^ens',
    FLANNELD_IP_MASQ: 'true',
    FLANNELD_IPTABLES_FORWARD_RULES: 'false',
    FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '30',
    FLANNELD_HEALTHZ_PORT: '8471',
    FLANNELD_HEALTHZ_IP: '127.0.0.1',
    FLANNELD_SUBNET_FILE: '/tmp/subnet.env',
    UNRELATED: 'x',
  };
  const s = parseAgentArgs([], { ...host, env });
  assert.equal(s.store, {
    kind: 'etcd',
    endpoints: ['http://192.0.2.1:2379'],
    prefix: '/my/net',
    auth: { username: 'flannel', password: 's3cret' },
  });
  assert.equal(s.iface, ['eth0']);
  assert.equal(s.ifaceRegex, ['^ens']);
  assert.is(s.ipMasq, true);
  assert.is(s.iptablesForwardRules, false);
  assert.is(s.renewMarginSeconds, 1800);
  assert.is(s.healthzPort, 8471);
  assert.is(s.healthzIp, '127.0.0.1');
  assert.is(s.subnetFile, '/tmp/subnet.env');
});

test('the command line wins over FLANNELD_*', () => {
  const env = { FLANNELD_IFACE: 'eth9', FLANNELD_IP_MASQ: 'true', FLANNELD_SUBNET_FILE: '/env/subnet.env' };
  const s = parseAgentArgs(['--iface', 'eth0', '--ip-masq=false'], { ...host, env });
  assert.equal(s.iface, ['eth0'], 'not eth9 added to the list');
  assert.is(s.ipMasq, false);
  assert.is(s.subnetFile, '/env/subnet.env', 'variables of flags not on the command line still apply');
});

test("Go's flag syntax: one or two dashes, = or a separate value, booleans by ParseBool", () => {
  const forms = [['-iface', 'eth0'], ['--iface', 'eth0'], ['-iface=eth0'], ['--iface=eth0']];
  for (const argv of forms) assert.equal(parseAgentArgs(argv, host).iface, ['eth0'], argv.join(' '));
  for (const [word, want] of [
    ['--ip-masq', true],
    ['-ip-masq', true],
    ['--ip-masq=true', true],
    ['--ip-masq=1', true],
    ['--ip-masq=T', true],
    ['--ip-masq=false', false],
    ['-ip-masq=0', false],
    ['--ip-masq=FALSE', false],
  ] as const) {
    assert.is(parseAgentArgs([word], host).ipMasq, want, word);
  }
  assert.is(parseAgentArgs(['--iptables-forward-rules=false'], host).iptablesForwardRules, false);
  assert.is(parseAgentArgs([], host).iptablesForwardRules, true, 'default on, as flanneld');
  assert.equal(
    parseAgentArgs(
      ['--etcd-password', '-starts-with-dash', '--etcd-username', 'u', '--etcd-endpoints', 'http://h:1'],
      host,
    ).store,
    {
      kind: 'etcd',
      endpoints: ['http://h:1'],
      prefix: '/coreos.com/network',
      auth: { username: 'u', password: '-starts-with-dash' },
    },
  );
  assert.is(parseAgentArgs(['-v=2'], host).logLevel, 'debug', "flanneld's -v=N verbosity");
});

test('defaults as flanneld (margin 60 min, resync 5 s, healthz off) and weft (status on loopback)', () => {
  const s = parseAgentArgs([], host);
  assert.is(s.renewMarginSeconds, 3600);
  assert.is(s.iptablesResyncSeconds, 5);
  assert.is(s.healthzPort, 0);
  assert.is(s.healthzIp, '0.0.0.0');
  assert.is(s.metricsIp, '127.0.0.1');
  assert.equal(s.iface, []);
  assert.is(s.store.kind, 'embedded');
});

test("weft's own flags beside flanneld's", () => {
  const s = parseAgentArgs(
    [
      '--store=etcd://127.0.0.1:2379',
      '--route-sync',
      'bgp',
      '--bgp-peer',
      '192.0.2.1,64513',
      '--bgp-peer=192.0.2.2,64514',
      '--no-offload',
      '--pcap',
      '/tmp/x.pcapng',
    ],
    host,
  );
  assert.equal(s.store, { kind: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: '/coreos.com/network' });
  assert.is(s.weft.routeSync, 'bgp');
  assert.equal(s.weft.bgpPeers, [
    { address: '192.0.2.1', as: 64513 },
    { address: '192.0.2.2', as: 64514 },
  ]);
  assert.is(s.weft.offload, false);
  assert.is(s.weft.superPackets, true);
  assert.is(s.weft.pcap, '/tmp/x.pcapng');
  assert.is(parseAgentArgs(['--no-super-packets'], host).weft.superPackets, false);
});

test('help and version', () => {
  const help = parseAgentCommandLine(['--help'], host);
  assert.is(help.kind, 'help');
  if (help.kind === 'help') for (const spec of AGENT_FLAGS) assert.ok(help.text.includes(`--${spec.name}`), spec.name);
  assert.is(parseAgentCommandLine(['-h'], host).kind, 'help');
  for (const argv of [['-v'], ['--version'], ['-version'], ['--version=true']])
    assert.is(parseAgentCommandLine(argv, host).kind, 'version', argv[0]);
});

test('bad input names the flag', () => {
  fails(['--ip-masq=maybe'], '--ip-masq');
  fails([], '--ip-masq', { FLANNELD_IP_MASQ: 'yes' });
  fails(['--kube-subnet-mgr'], '--kube-subnet-mgr');
  fails([], '--kube-subnet-mgr', { FLANNELD_KUBE_SUBNET_MGR: 'true' });
  assert.is(
    parseAgentArgs(['--kube-subnet-mgr=false'], host).ipMasq,
    false,
    'turning the Kubernetes subnet manager off is fine',
  );
  fails(['--etcd-endpoints=127.0.0.1:2379'], '--etcd-endpoints');
  fails(['--etcd-endpoints=http://h:99999'], '--etcd-endpoints');
  fails(['--etcd-endpoints=http://h:1', '--store=embedded:/x'], '--store');
  fails(['--etcd-endpoints=http://h:1', '--etcd-certfile=/c.pem'], '--etcd-keyfile');
  fails(['--etcd-endpoints=http://h:1', '--etcd-password=x'], '--etcd-password');
  fails(['--subnet-lease-renew-margin=1440'], '--subnet-lease-renew-margin');
  fails(['--subnet-lease-renew-margin=1.5'], '--subnet-lease-renew-margin');
  fails(['--iface-regex=('], '--iface-regex');
  fails(['--iface-can-reach=somewhere'], '--iface-can-reach');
  fails(['--healthz-port=-1'], '--healthz-port');
  fails(['--healthz-ip=any'], '--healthz-ip');
  fails(['--iptables-resync=0'], '--iptables-resync');
  fails(['-bogus'], '--bogus');
  fails(['--iface'], '--iface');
  fails(['stray'], 'arguments');
  fails(['--public-ipv6=192.0.2.1'], '--public-ipv6');
  fails(['--public-ipv6=ff02::1'], '--public-ipv6');
});

test.run();
