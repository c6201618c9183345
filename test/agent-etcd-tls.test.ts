// `weft agent` with flanneld's etcd flags, as a unit file written for flanneld runs it: etcd over TLS with
// client certificates (--client-cert-auth) and etcd with a password, in namespaces of their own (etcd in `a` on
// 192.0.2.1, a veth to `b`). Two agents over TLS: each gets a lease and the second routes to the first. Every bad
// credential: exit code 2, one line on stderr naming the flag and the problem, no stack trace.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackgroundProcess, LabScope, type Netns, canRunWith } from '@weft/lab';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpGetIn } from 'weft/lab';
import { type TestCerts, makeTestCerts } from '../packages/agent/test/support/certs.ts';
import { type SecureEtcd, enableAuth, startSecureEtcd } from '../packages/agent/test/support/etcd-secure.ts';

const WEFT = fileURLToPath(new URL('../agent/bin/weft.mjs', import.meta.url));
const TLS_PORT = 23798; // inside namespace a (its own port space)
const AUTH_PORT = 23796;
const PREFIX = '/coreos.com/network';
const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}';

interface StatusJson {
  lease?: { subnet: string };
  routes: { subnet: string; via: string }[];
}

async function waitFor<T>(get: () => Promise<T | null>, ms: number): Promise<T | null> {
  for (let t = 0; t < ms; t += 200) {
    const v = await get();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

async function status(ns: Netns): Promise<StatusJson | null> {
  const body = await httpGetIn(ns, 'http://127.0.0.1:9465/status');
  return body === null ? null : (JSON.parse(body) as StatusJson);
}

if (canRunWith('weft agent with etcd TLS and auth', ['ip', 'etcd', 'etcdctl', 'openssl'])) {
  const scope = new LabScope('h9-agent-etcd');
  let a: Netns;
  let b: Netns;
  let certs: TestCerts;
  let tlsEtcd: SecureEtcd;
  let authEtcd: SecureEtcd;
  const agentArgv = (node: string, ...flags: string[]) => [
    process.execPath,
    WEFT,
    'agent',
    '--iface',
    'eth0',
    '--node-name',
    node,
    '--subnet-file',
    join(scope.dir, `${node}-subnet.env`),
    '--iptables-forward-rules=false',
    ...flags,
  ];
  const tlsFlags = (over: Record<string, string | null> = {}) => {
    const flags: Record<string, string | null> = {
      'etcd-endpoints': `https://192.0.2.1:${TLS_PORT}`,
      'etcd-cafile': certs.caCert,
      'etcd-certfile': certs.clientCert,
      'etcd-keyfile': certs.clientKey,
      ...over,
    };
    return Object.entries(flags).flatMap(([k, v]) => (v === null ? [] : [`--${k}`, v]));
  };
  /** Runs `weft agent` in b to its end; it must fail at start. */
  const failing = async (flags: string[]) => {
    const res = await b.exec(agentArgv('bad', ...flags), { allowFailure: true, timeoutMs: 60_000 });
    return {
      code: res.code,
      errLines: res.stderr.split('\n').filter((l) => l && !/DEP0123|--trace-deprecation/.test(l)),
    };
  };

  test.before(async () => {
    a = await scope.netns('a');
    b = await scope.netns('b');
    await scope.veth(a, 'eth0', b, 'eth0');
    await a.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await b.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    certs = await makeTestCerts(join(scope.dir, 'certs'), ['127.0.0.1', '192.0.2.1']);
    tlsEtcd = await startSecureEtcd(scope, 'h9-cli-tls', TLS_PORT, TLS_PORT + 1, { certs, ns: a, host: '192.0.2.1' });
    await tlsEtcd.etcdctl('put', `${PREFIX}/config`, NET_CONF);
    const plain = await startSecureEtcd(scope, 'h9-cli-auth', AUTH_PORT, AUTH_PORT + 1, { ns: a, host: '192.0.2.1' });
    authEtcd = await enableAuth(plain, 'root-pass', 'weft', 'w3ft-pass', PREFIX);
    await authEtcd.etcdctl('put', `${PREFIX}/config`, NET_CONF);
  });
  test.after(async () => {
    await scope.cleanup();
  });

  test('TLS with client certificates: two agents lease subnets, the second routes to the first', async () => {
    const agents: BackgroundProcess[] = [];
    try {
      agents.push(scope.spawn('agent-a', a, agentArgv('a', ...tlsFlags())));
      const sa = await waitFor(async () => ((await status(a))?.lease ? status(a) : null), 45_000);
      assert.ok(sa?.lease, `agent a leased a subnet:\n${agents[0]!.log().slice(-1500)}`);
      agents.push(scope.spawn('agent-b', b, agentArgv('b', ...tlsFlags())));
      const sb = await waitFor(async () => {
        const s = await status(b);
        return s?.routes.some((r) => r.subnet === sa.lease!.subnet) ? s : null;
      }, 45_000);
      assert.ok(sb, `agent b routes to a's ${sa.lease!.subnet}:\n${agents[1]!.log().slice(-1500)}`);
      assert.equal(sb.routes.find((r) => r.subnet === sa.lease!.subnet)?.via, '192.0.2.1');
      const keys = await tlsEtcd.etcdctl('get', '--prefix', '--keys-only', `${PREFIX}/subnets/`);
      assert.is(keys.split('\n').filter(Boolean).length, 2, keys);
    } finally {
      for (const p of agents) await p.stop();
    }
  });

  test('bad TLS credentials: exit 2 at start, one line naming the flag and the problem', async () => {
    const cases: [Record<string, string | null>, RegExp][] = [
      [
        { 'etcd-cafile': certs.otherCaCert },
        /^weft agent: bad configuration: --etcd-cafile: etcd TLS: the server's certificate is not trusted by --etcd-cafile \S+other-ca\.crt: /,
      ],
      [
        { 'etcd-certfile': null, 'etcd-keyfile': null },
        /^weft agent: bad configuration: --etcd-certfile: etcd TLS: etcd requires a client certificate \(--etcd-certfile, --etcd-keyfile\)$/,
      ],
      [
        { 'etcd-certfile': certs.expiredCert, 'etcd-keyfile': certs.expiredKey },
        /^weft agent: bad configuration: --etcd-certfile: certificate \S+expired\.crt \(CN=weft-expired, issued by CN=ca\) expired at 2020-02-01T00:00:00\.000Z$/,
      ],
      [
        { 'etcd-certfile': certs.otherClientCert, 'etcd-keyfile': certs.otherClientKey },
        /^weft agent: bad configuration: --etcd-certfile: etcd TLS: etcd refused the client certificate \S+rogue\.crt: not signed by a CA it trusts, or expired \(TLS alert: bad certificate\)$/,
      ],
      [
        { 'etcd-keyfile': join(certs.dir, 'nope.key') },
        /^weft agent: bad configuration: --etcd-keyfile: cannot read \S+nope\.key: no such file$/,
      ],
    ];
    for (const [over, line] of cases) {
      const { code, errLines } = await failing(tlsFlags(over));
      assert.is(code, 2, `${JSON.stringify(over)}: ${errLines.join('\n')}`);
      assert.is(errLines.length, 1, errLines.join('\n'));
      assert.match(errLines[0]!, line);
    }
  });

  test('password auth: the agent leases with the right password (from FLANNELD_*); a wrong or missing one is exit 2', async () => {
    const endpoint = ['--etcd-endpoints', `http://192.0.2.1:${AUTH_PORT}`];
    const bad = await failing([...endpoint, '--etcd-username', 'weft', '--etcd-password', 'wrong']);
    assert.is(bad.code, 2, bad.errLines.join('\n'));
    assert.equal(bad.errLines, [
      'weft agent: bad configuration: --etcd-password: etcd auth: etcd refused user "weft": wrong user name or password',
    ]);
    const none = await failing(endpoint);
    assert.is(none.code, 2, none.errLines.join('\n'));
    assert.equal(none.errLines, [
      'weft agent: bad configuration: --etcd-username: etcd auth: etcd requires a user name and password (--etcd-username, --etcd-password)',
    ]);
    // The credentials as FLANNELD_* variables (an EnvironmentFile), so the password is not on the command line.
    const env = { ...process.env, FLANNELD_ETCD_USERNAME: 'weft', FLANNELD_ETCD_PASSWORD: 'w3ft-pass' };
    const agent = scope.spawn('agent-pw', b, agentArgv('pw', ...endpoint), env);
    try {
      const s = await waitFor(async () => ((await status(b))?.lease ? status(b) : null), 45_000);
      assert.ok(s?.lease, `agent leased with a password:\n${agent.log().slice(-1500)}`);
      const keys = await authEtcd.etcdctl('get', '--prefix', '--keys-only', `${PREFIX}/subnets/`);
      assert.ok(keys.includes(s.lease.subnet.replace('/', '-')), keys);
    } finally {
      await agent.stop();
    }
  });
}

test.run();
