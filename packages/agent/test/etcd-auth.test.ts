// The etcd store with etcd's user/password auth on (root, and a user "weft" whose role may read and write
// flannel's prefix only): leases work end to end; a wrong password, no credentials and a prefix outside the
// role are typed errors that name the flag to fix.
import { LabScope, canRunWith } from '@weft/lab';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type SecureEtcd, enableAuth, startSecureEtcd } from './support/etcd-secure.ts';
import { secondManagerSeesFirst } from './support/two-managers.ts';
import { type EtcdAuth, EtcdLeaseStore, StoreCredentialError, parseNetConfig } from './support/internals.ts';

const CLIENT = 23796;
const PEER = 23797;
const PREFIX = '/coreos.com/network';
const config = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');

if (canRunWith('etcd auth', ['etcd', 'etcdctl'])) {
  const scope = new LabScope('h9-etcd-auth');
  let etcd: SecureEtcd;
  const stores: EtcdLeaseStore[] = [];
  const open = (auth: EtcdAuth | undefined, prefix = PREFIX) => {
    const s = new EtcdLeaseStore({ endpoints: [`http://127.0.0.1:${CLIENT}`], prefix, auth, callTimeoutMs: 2000 });
    stores.push(s);
    return s;
  };
  const weft = { username: 'weft', password: 'w3ft-pass' };

  test.before(async () => {
    etcd = await enableAuth(
      await startSecureEtcd(scope, 'h9-auth', CLIENT, PEER),
      'root-pass',
      weft.username,
      weft.password,
      PREFIX,
    );
  });
  test.after(async () => {
    for (const s of stores) await s.close();
    await scope.cleanup();
  });

  test('password auth: one agent leases a subnet, a second agent sees it', async () => {
    await etcd.etcdctl('put', `${PREFIX}/config`, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
    assert.is(JSON.parse((await open(weft).getConfig())!).Network, '10.244.0.0/16');
    await secondManagerSeesFirst(() => open(weft), config, 'vxlan', 3600_000);
  });

  test('wrong password, no credentials, a prefix outside the role: typed errors naming the flag', async () => {
    const cases: [EtcdAuth | undefined, string, string, RegExp][] = [
      [
        { username: 'weft', password: 'nope' },
        PREFIX,
        '--etcd-password',
        /^etcd auth: etcd refused user "weft": wrong user name or password$/,
      ],
      [
        { username: 'nobody', password: 'x' },
        PREFIX,
        '--etcd-password',
        /^etcd auth: etcd refused user "nobody": wrong user name or password$/,
      ],
      [
        undefined,
        PREFIX,
        '--etcd-username',
        /^etcd auth: etcd requires a user name and password \(--etcd-username, --etcd-password\)$/,
      ],
      [
        weft,
        '/elsewhere/network',
        '--etcd-username',
        /^etcd auth: user "weft" may not read and write \/elsewhere\/network\/ \(grant it a role/,
      ],
    ];
    for (const [auth, prefix, field, message] of cases) {
      const e = await open(auth, prefix)
        .getConfig()
        .then(
          () => null,
          (err: Error) => err,
        );
      assert.instance(e, StoreCredentialError, String(e?.message));
      assert.is((e as StoreCredentialError).field, field);
      assert.is((e as StoreCredentialError).kind, 'auth');
      assert.match(e!.message, message);
    }
  });

  test('a lease write without permission is refused, not taken for an outage', async () => {
    const subnet = config.network; // any prefix will do: the write is refused before it is looked at
    const attrs = { PublicIP: '192.0.2.3', BackendType: 'vxlan' };
    const e = await open(weft, '/elsewhere/network')
      .createLease(subnet, attrs, 60_000)
      .then(
        () => null,
        (err: Error) => err,
      );
    assert.instance(e, StoreCredentialError, String(e?.message));
    assert.match(e!.message, /^etcd auth: user "weft" may not read and write \/elsewhere\/network\//);
  });
}

test.run();
