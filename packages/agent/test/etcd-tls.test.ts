// The etcd store over TLS against a real etcd started with --client-cert-auth and certificates made by openssl:
// the good case end to end (two lease managers), every bad credential as a typed error naming the flag, and at
// run time an outage, a refusal and a rotation told apart in the logs while the last known peers are kept.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabScope, canRunWith } from '@weft/lab';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestCerts, makeTestCerts } from './support/certs.ts';
import { type SecureEtcd, startSecureEtcd } from './support/etcd-secure.ts';
import { secondManagerSeesFirst, waitFor } from './support/two-managers.ts';
import {
  ConfigError,
  EtcdLeaseStore,
  type EtcdTlsFiles,
  LeaseManager,
  StoreCredentialError,
  classifyEtcdError,
  parseNetConfig,
  subnetKey,
} from './support/internals.ts';

const CLIENT = 23794;
const PEER = 23795;
const ENDPOINT = `https://127.0.0.1:${CLIENT}`;
const config = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}');
const HOUR = 3600_000;

/** A lease manager with quick retries whose warnings' `err` texts land in `warnings`. */
function rotatingManager(store: EtcdLeaseStore, warnings: string[]): LeaseManager {
  const log = {
    info() {},
    debug() {},
    error() {},
    warn: (o: { err?: string }) => void (o.err && warnings.push(o.err)),
  };
  const identity = { nodeName: 'rot', publicIp: '192.0.2.9' };
  return new LeaseManager({
    store,
    config,
    identity,
    backendType: 'udp',
    ttlMs: HOUR,
    retryMinMs: 100,
    retryMaxMs: 400,
    log,
  });
}

function peerKeys(m: LeaseManager): string[] {
  return m
    .peers()
    .map((l) => subnetKey(l.subnet))
    .sort();
}

/** The error a constructor or a call rejects with (fails the test when there is none). */
async function failure(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected a failure');
  throw new Error('unreachable');
}

// Texts in the forms gRPC and OpenSSL give them, for refusals a test cannot easily provoke (a server whose
// clock says our certificate expired; TLS 1.3's certificate_required) and the plain outage.
test('classifyEtcdError: TLS alerts, server verification, auth and outages each get their own words', () => {
  const grpc = (last: string) =>
    `14 UNAVAILABLE: No connection established. Last error: ${last} (2026-12-01T21:06:40.939Z). Resolution note: `;
  const ssl = (what: string, n: number) =>
    `80AC0CD6EF7F0000:error:0A000415:SSL routines:ssl3_read_bytes:${what}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number ${n}\n`;
  const tls = { caFile: '/etc/weft/ca.pem', certFile: '/etc/weft/node.pem', keyFile: '/etc/weft/node-key.pem' };
  const cases: [string, EtcdTlsFiles | undefined, string, string][] = [
    [
      grpc(ssl('sslv3 alert certificate expired', 45)),
      tls,
      '--etcd-certfile',
      'etcd TLS: etcd refused the client certificate /etc/weft/node.pem: not signed by a CA it trusts, or expired (TLS alert: certificate expired)',
    ],
    [
      grpc(ssl('tlsv13 alert certificate required', 116)),
      { caFile: tls.caFile },
      '--etcd-certfile',
      'etcd TLS: etcd requires a client certificate (--etcd-certfile, --etcd-keyfile)',
    ],
    [
      grpc('Error: certificate has expired'),
      tls,
      '--etcd-cafile',
      "etcd TLS: the server's certificate is not trusted by --etcd-cafile /etc/weft/ca.pem: certificate has expired",
    ],
    [
      grpc(
        "Error: Hostname/IP does not match certificate's altnames: IP: 192.0.2.9 is not in the cert's list: 127.0.0.1",
      ),
      undefined,
      '--etcd-cafile',
      "etcd TLS: the server's certificate is not trusted by the system's CAs: Hostname/IP does not match certificate's altnames: IP: 192.0.2.9 is not in the cert's list: 127.0.0.1",
    ],
    [grpc('connect ECONNREFUSED 127.0.0.1:2379'), tls, '', 'etcd unreachable: connect ECONNREFUSED 127.0.0.1:2379'],
    ['4 DEADLINE_EXCEEDED: Deadline exceeded', tls, '', 'etcd unreachable: 4 DEADLINE_EXCEEDED: Deadline exceeded'],
  ];
  for (const [text, files, field, message] of cases) {
    const e = classifyEtcdError(new Error(text), { tls: files, prefix: '/coreos.com/network' });
    assert.is(e.message, message);
    assert.is(e instanceof StoreCredentialError ? e.field : '', field, message);
  }
});

if (canRunWith('etcd TLS', ['etcd', 'etcdctl', 'openssl'])) {
  const scope = new LabScope('h9-etcd-tls');
  let certs: TestCerts;
  let etcd: SecureEtcd | null = null;
  const stores: EtcdLeaseStore[] = [];
  const open = (tls: EtcdTlsFiles, endpoints = [ENDPOINT]) => {
    const s = new EtcdLeaseStore({ endpoints, tls, prefix: '/coreos.com/network', callTimeoutMs: 2000 });
    stores.push(s);
    return s;
  };
  const good = (): EtcdTlsFiles => ({ caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey });

  test.before(async () => {
    certs = await makeTestCerts(join(scope.dir, 'certs'));
    etcd = await startSecureEtcd(scope, 'h9-tls', CLIENT, PEER, { certs });
  });
  test.after(async () => {
    for (const s of stores) await s.close();
    await scope.cleanup();
  });

  test('good TLS: one agent leases a subnet, a second agent sees it', async () => {
    const a = await secondManagerSeesFirst(() => open(good()), config, 'udp', HOUR);
    const keys = await etcd!.etcdctl('get', '--prefix', '--keys-only', '/coreos.com/network/subnets/');
    assert.ok(keys.includes(`/coreos.com/network/subnets/${subnetKey(a.subnet)}`), keys);
  });

  test('bad files are ConfigErrors naming the flag, before any connection', async () => {
    const cases: [EtcdTlsFiles, string, RegExp][] = [
      [
        { ...good(), certFile: certs.expiredCert, keyFile: certs.expiredKey },
        '--etcd-certfile',
        /expired\.crt \(CN=weft-expired, issued by CN=ca\) expired at 2020-02-01T00:00:00\.000Z$/,
      ],
      [
        { ...good(), certFile: join(certs.dir, 'missing.crt') },
        '--etcd-certfile',
        /cannot read .*missing\.crt: no such file$/,
      ],
      [{ ...good(), keyFile: certs.caCert }, '--etcd-keyfile', /ca\.crt holds no PEM private key$/],
      [
        { ...good(), keyFile: certs.otherClientKey },
        '--etcd-keyfile',
        /rogue\.key is not the key of .*weft\.crt \(CN=weft, issued by CN=ca\)$/,
      ],
      [{ ...good(), keyFile: undefined }, '--etcd-keyfile', /needs both --etcd-certfile and --etcd-keyfile$/],
      [{ ...good(), caFile: certs.clientKey }, '--etcd-cafile', /weft\.key holds no PEM certificate$/],
    ];
    for (const [tls, field, message] of cases) {
      const e = await failure(() => open(tls));
      assert.instance(e, ConfigError, e.message);
      assert.is((e as ConfigError).field, field);
      assert.match(e.message, message);
    }
    const plain = await failure(() => open(good(), [`http://127.0.0.1:${CLIENT}`]));
    assert.match(plain.message, /^--etcd-endpoints: .*need https:\/\/ endpoints$/);
    const mixed = await failure(() => open({}, [ENDPOINT, 'http://127.0.0.1:1']));
    assert.match(mixed.message, /^--etcd-endpoints: mixes http:\/\/ and https:\/\//);
  });

  test("etcd's refusals: wrong CA, no client certificate, a certificate from another CA", async () => {
    const cases: [EtcdTlsFiles, string, RegExp][] = [
      [
        { ...good(), caFile: certs.otherCaCert },
        '--etcd-cafile',
        /^etcd TLS: the server's certificate is not trusted by --etcd-cafile .*other-ca\.crt: unable to verify the first certificate$/,
      ],
      [
        { caFile: certs.caCert },
        '--etcd-certfile',
        /^etcd TLS: etcd requires a client certificate \(--etcd-certfile, --etcd-keyfile\)$/,
      ],
      [
        { ...good(), certFile: certs.otherClientCert, keyFile: certs.otherClientKey },
        '--etcd-certfile',
        /^etcd TLS: etcd refused the client certificate .*rogue\.crt: not signed by a CA it trusts, or expired \(TLS alert: bad certificate\)$/,
      ],
    ];
    for (const [tls, field, message] of cases) {
      const e = await failure(() => open(tls).getConfig());
      assert.instance(e, StoreCredentialError, e.message);
      assert.is((e as StoreCredentialError).field, field);
      assert.is((e as StoreCredentialError).kind, 'tls');
      assert.match(e.message, message);
    }
  });

  test('run time: outage, then a refused certificate, then rotated files; peers kept throughout', async () => {
    const dir = join(scope.dir, 'rotating');
    copyFileSync(certs.clientCert, `${dir}.crt`);
    copyFileSync(certs.clientKey, `${dir}.key`);
    const tls = { caFile: certs.caCert, certFile: `${dir}.crt`, keyFile: `${dir}.key` };
    const ac = new AbortController();
    const warnings: string[] = [];
    const a = rotatingManager(open(tls), warnings);
    await a.acquire(ac.signal);
    const reach: boolean[] = [];
    const running = a.run({ onStoreReachable: (r) => reach.push(r) }, ac.signal);
    try {
      assert.ok(await waitFor(() => a.peers().length >= 2), 'peers from the first test');
      const peers = peerKeys(a);
      await etcd!.proc.stop();
      assert.ok(await waitFor(() => warnings.some((w) => w.startsWith('etcd unreachable'))), warnings.join('\n'));
      etcd = await startSecureEtcd(scope, 'h9-tls', CLIENT, PEER, {
        certs,
        trustedCa: certs.otherCaCert,
        keepData: true,
      });
      assert.ok(
        await waitFor(() => warnings.some((w) => w.startsWith('etcd TLS: etcd refused the client certificate'))),
        warnings.join('\n'),
      );
      assert.equal(peerKeys(a), peers, 'last known peers kept');
      assert.is(reach.at(-1), false);
      copyFileSync(certs.otherClientCert, `${dir}.crt`);
      copyFileSync(certs.otherClientKey, `${dir}.key`);
      assert.ok(
        await waitFor(() => reach.at(-1) === true),
        `reachable again with rotated files: ${warnings.slice(-3).join('\n')}`,
      );
    } finally {
      ac.abort();
      await running;
    }
  });
}

test.run();
