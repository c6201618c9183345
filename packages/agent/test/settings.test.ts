import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentArgs, DEFAULT_EMBEDDED_PATH, DEFAULT_SUBNET_FILE } from './support/internals.ts';
import { assertConfigError } from './support/config-error.ts';

const host = { hostname: 'node-a' };

function fails(argv: string[], field: string): void {
  assertConfigError(() => parseAgentArgs(argv, host), field);
}

test('defaults', () => {
  const s = parseAgentArgs([], host);
  assert.equal(s.store, { kind: 'embedded', path: DEFAULT_EMBEDDED_PATH });
  assert.is(s.subnetFile, DEFAULT_SUBNET_FILE);
  assert.is(s.nodeName, 'node-a');
  assert.is(s.publicIp, null);
  assert.is(s.leaseTtlSeconds, 86400);
  assert.is(s.renewMarginSeconds, 3600);
  assert.ok(s.netConfigFile);
});

test('a lease TTL of a minute or less works without a margin flag (the default margin is cut to half the TTL)', () => {
  const s = parseAgentArgs(['--subnet-lease-ttl', '10'], host);
  assert.is(s.leaseTtlSeconds, 10);
  assert.is(s.renewMarginSeconds, 5);
  assert.is(parseAgentArgs(['--subnet-lease-ttl', '3000'], host).renewMarginSeconds, 1500);
});

test('etcd store with several endpoints and a prefix', () => {
  const s = parseAgentArgs(
    ['--store', 'etcd://127.0.0.1:2379,10.0.0.2:2379', '--etcd-prefix', '/weft/net', '--public-ip', '192.0.2.1'],
    host,
  );
  assert.equal(s.store, {
    kind: 'etcd',
    endpoints: ['http://127.0.0.1:2379', 'http://10.0.0.2:2379'],
    prefix: '/weft/net',
  });
  assert.is(s.netConfigFile, null);
  assert.is(s.publicIp, '192.0.2.1');
});

test('embedded path, metrics port, node name, lease timing', () => {
  const s = parseAgentArgs(
    [
      '--store=embedded:/tmp/x.db',
      '--metrics-port',
      '0',
      '--node-name',
      'n1.lab',
      '--subnet-lease-ttl',
      '3600',
      '--subnet-lease-renew-margin',
      '20',
    ],
    host,
  );
  assert.equal(s.store, { kind: 'embedded', path: '/tmp/x.db' });
  assert.is(s.metricsPort, 0);
  assert.is(s.nodeName, 'n1.lab');
  assert.is(s.leaseTtlSeconds, 3600);
  assert.is(s.renewMarginSeconds, 20 * 60, 'the margin is in minutes, as flanneld');
});

test('bad flags name the flag', () => {
  fails(['--store', 'redis://x'], '--store');
  fails(['--store', 'etcd://host'], '--store');
  fails(['--store', 'etcd://host:99999'], '--store');
  fails(['--store', 'embedded:'], '--store');
  fails(['--etcd-prefix', 'coreos.com/network/'], '--etcd-prefix');
  fails(['--public-ip', '300.1.1.1'], '--public-ip');
  fails(['--metrics-port', '65536'], '--metrics-port');
  fails(['--metrics-port', 'x'], '--metrics-port');
  fails(['--node-name', 'bad name'], '--node-name');
  fails(['--subnet-lease-ttl', '3600', '--subnet-lease-renew-margin', '60'], '--subnet-lease-renew-margin');
  fails(['--log-level', 'loud'], '--log-level');
  fails(['--bogus'], '--bogus');
  fails(['--iface', ''], '--iface');
});

test.run();
