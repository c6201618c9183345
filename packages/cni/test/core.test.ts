// The pure core of the CNI plugin: subnet.env parsing, flannel's delegate merge, results between spec versions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CniError,
  CniErrorCode,
  checkVersion,
  convertResult,
  delegateConfig,
  launcherScript,
  parseFlannelSubnetEnv,
  parseNetConf,
  weftConflist,
  withCallKeys,
} from '@weft/cni';

const ENV_TEXT = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const env = parseFlannelSubnetEnv(ENV_TEXT, 'subnet.env');

function throwsCode(fn: () => unknown, code: number, pattern?: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, CniError);
    assert.is((e as CniError).code, code, (e as Error).message);
    if (pattern) assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected CniError code ${code}`);
}

test('subnet.env: flanneld/weft agent form parses to the subnet in network form', () => {
  assert.equal(env, {
    networks: ['10.244.0.0/16'],
    subnets: ['10.244.3.0/24'],
    gateways: ['10.244.3.1'],
    mtu: 1450,
    ipMasq: true,
  });
  const both = parseFlannelSubnetEnv(
    `# written by flanneld\n${ENV_TEXT}FLANNEL_IPV6_NETWORK=fd00:10::/48\nFLANNEL_IPV6_SUBNET=fd00:10:0:3::1/64\n`,
    'x',
  );
  assert.equal(both.networks, ['10.244.0.0/16', 'fd00:10::/48']);
  assert.equal(both.subnets, ['10.244.3.0/24', 'fd00:10:0:3::/64']);
  assert.equal(both.gateways, ['10.244.3.1', 'fd00:10:0:3::1']);
});

test('subnet.env: each missing or malformed key is named', () => {
  const drop = (key: string) =>
    ENV_TEXT.split('\n')
      .filter((l) => !l.startsWith(`${key}=`))
      .join('\n');
  for (const key of ['FLANNEL_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ']) {
    throwsCode(
      () => parseFlannelSubnetEnv(drop(key), 'f'),
      CniErrorCode.SubnetEnvInvalid,
      new RegExp(`${key} is missing`),
    );
  }
  throwsCode(
    () => parseFlannelSubnetEnv('', 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /FLANNEL_NETWORK and FLANNEL_SUBNET are missing/,
  );
  throwsCode(
    () => parseFlannelSubnetEnv(ENV_TEXT.replace('1450', '14x0'), 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /FLANNEL_MTU=14x0/,
  );
  throwsCode(
    () => parseFlannelSubnetEnv(ENV_TEXT.replace('1450', '40'), 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /FLANNEL_MTU=40/,
  );
  throwsCode(
    () => parseFlannelSubnetEnv(ENV_TEXT.replace('=true', '=yes'), 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /FLANNEL_IPMASQ=yes/,
  );
  throwsCode(
    () => parseFlannelSubnetEnv(ENV_TEXT.replace('10.244.3.1/24', '10.245.3.1/24'), 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /not inside/,
  );
  throwsCode(
    () => parseFlannelSubnetEnv(ENV_TEXT.replace('10.244.3.1/24', '10.244.3.1'), 'f'),
    CniErrorCode.SubnetEnvInvalid,
    /not an IPv4 prefix/,
  );
});

test('delegate: flannel defaults (bridge, ipMasq = !FLANNEL_IPMASQ, MTU, isGateway, host-local range and route)', () => {
  const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'weft' }));
  assert.equal(delegateConfig(conf, env), {
    name: 'cbr0',
    cniVersion: '1.0.0',
    type: 'bridge',
    ipMasq: false,
    mtu: 1450,
    isGateway: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.244.3.0/24' }]],
      routes: [{ dst: '10.244.0.0/16', gw: '10.244.3.1' }],
    },
  });
});

test("delegate: the user's delegate keys win; name, cniVersion, ranges and the cluster route stay ours", () => {
  const conf = parseNetConf(
    JSON.stringify({
      cniVersion: '0.3.1',
      name: 'net',
      type: 'weft',
      delegate: {
        name: 'other',
        cniVersion: '0.4.0',
        ipMasq: true,
        mtu: 1400,
        isGateway: false,
        bridge: 'weft0',
        hairpinMode: true,
      },
      ipam: { dataDir: '/tmp/x', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: '1.2.3.0/24' }]] },
    }),
  );
  const d = delegateConfig(conf, env);
  assert.equal(d, {
    name: 'net',
    cniVersion: '0.3.1',
    ipMasq: true,
    mtu: 1400,
    isGateway: false,
    bridge: 'weft0',
    hairpinMode: true,
    type: 'bridge',
    ipam: {
      type: 'host-local',
      dataDir: '/tmp/x',
      ranges: [[{ subnet: '10.244.3.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '10.244.0.0/16' }],
    },
  });
  // another delegate type gets no isGateway
  const ipvlan = delegateConfig(
    parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', delegate: { type: 'ipvlan' } })),
    env,
  );
  assert.not.ok('isGateway' in ipvlan);
});

test('per-call keys (prevResult, runtimeConfig, args) go to the delegate, not into the saved config', () => {
  const conf = parseNetConf(
    JSON.stringify({ cniVersion: '1.0.0', name: 'n', prevResult: { cniVersion: '1.0.0' }, runtimeConfig: { a: 1 } }),
  );
  const saved = delegateConfig(conf, env);
  assert.not.ok('prevResult' in saved);
  const call = withCallKeys(saved, conf);
  assert.equal(call.prevResult, { cniVersion: '1.0.0' });
  assert.equal(call.runtimeConfig, { a: 1 });
  assert.is(call.ipam, saved.ipam);
});

test('configuration errors carry their well-known codes', () => {
  throwsCode(() => parseNetConf('{"cniVersion":'), CniErrorCode.DecodeFailure);
  throwsCode(() => parseNetConf('[1]'), CniErrorCode.DecodeFailure);
  throwsCode(() => parseNetConf('{"name":"n"}'), CniErrorCode.IncompatibleVersion, /"0\.1\.0"/);
  throwsCode(() => parseNetConf('{"cniVersion":"9.9.9","name":"n"}'), CniErrorCode.IncompatibleVersion, /9\.9\.9/);
  throwsCode(() => parseNetConf('{"cniVersion":"1.0.0"}'), CniErrorCode.InvalidConfig, /name/);
  throwsCode(
    () => parseNetConf('{"cniVersion":"1.0.0","name":"n","delegate":[]}'),
    CniErrorCode.InvalidConfig,
    /delegate/,
  );
  throwsCode(
    () => parseNetConf('{"cniVersion":"1.0.0","name":"n","subnetFile":3}'),
    CniErrorCode.InvalidConfig,
    /subnetFile/,
  );
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) assert.is(checkVersion(v), v);
});

test('results: 1.0.0 drops the ips version, 0.3.x/0.4.0 derive it from the family; input untouched', () => {
  const v1 = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'cni0', mac: '02:00:00:00:00:01' },
      { name: 'eth0', sandbox: '/var/run/netns/x' },
    ],
    ips: [
      { address: '10.244.3.2/24', gateway: '10.244.3.1', interface: 1 },
      { address: 'fd00:10:0:3::2/64', interface: 1 },
    ],
    routes: [{ dst: '10.244.0.0/16' }],
    dns: {},
  };
  const old = convertResult(v1, '0.4.0');
  assert.equal(old.ips, [
    { version: '4', address: '10.244.3.2/24', gateway: '10.244.3.1', interface: 1 },
    { version: '6', address: 'fd00:10:0:3::2/64', interface: 1 },
  ]);
  assert.is(old.cniVersion, '0.4.0');
  assert.equal(old.routes, v1.routes);
  const back = convertResult(old, '1.0.0');
  assert.equal(back, v1);
  assert.not.ok('version' in v1.ips[0]!);
  assert.is(
    convertResult({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }] }, '0.3.1').ips![0]!.version,
    '4',
  );
  throwsCode(() => convertResult('x', '1.0.0'), CniErrorCode.DecodeFailure);
  throwsCode(() => convertResult({ ips: [{}] }, '1.0.0'), CniErrorCode.DecodeFailure);
});

test('install: the launcher quotes its paths for sh; the conflist chains weft then portmap', () => {
  const text = launcherScript('/usr/bin/node', "/opt/we'ft/agent/bin/weft.mjs");
  assert.match(text, /^#!\/bin\/sh\n/);
  assert.ok(text.includes(`exec '/usr/bin/node' '/opt/we'\\''ft/agent/bin/weft.mjs' "$@"`), text);
  const list = weftConflist() as { plugins: { type: string }[] };
  assert.equal(
    list.plugins.map((p) => p.type),
    ['weft', 'portmap'],
  );
});

test.run();
