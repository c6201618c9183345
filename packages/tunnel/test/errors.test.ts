// Opening devices without permission, in namespaces that do not exist, and sockets on bad addresses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { canRunWith, run } from '@weft/lab';
import { NamespaceError, TunnelError, TunnelIoError, openTun, openUdp } from '../src/index.ts';
import { quietNamespace } from './lab.ts';
import { mapSystemError } from '../src/errors.ts';
import { DeviceBusyError, NotPermittedError, TunUnavailableError, BadNameError } from '../src/index.ts';

test('errno errors from the addon map to typed errors whose messages say what to do', () => {
  const cases: [string, string, new (...a: never[]) => Error, RegExp][] = [
    ['ENOENT', 'open', TunUnavailableError, /modprobe tun/],
    ['EPERM', 'TUNSETIFF', NotPermittedError, /CAP_NET_ADMIN/],
    ['EBUSY', 'TUNSETIFF', DeviceBusyError, /another process/],
    ['EINVAL', 'TUNSETIFF', DeviceBusyError, /other flags/],
    ['ENAMETOOLONG', 'TUNSETIFF', BadNameError, /15 bytes/],
    ['ENOENT', 'open namespace', NamespaceError, /ip netns add/],
    ['EADDRINUSE', 'bind', TunnelIoError, /bind/],
  ];
  for (const [code, syscall, cls, text] of cases) {
    const e = mapSystemError(Object.assign(new Error(`${syscall}: failed`), { code, syscall }), 'tun flannel0');
    assert.instance(e, cls, `${code} from ${syscall}`);
    assert.match(e.message, text);
    assert.is((e as TunnelError).code, code);
  }
});

const WORKER = fileURLToPath(new URL('./open-worker.ts', import.meta.url));

if (canRunWith('tunnel: permission errors', ['capsh'])) {
  test('without CAP_NET_ADMIN opening a TUN is NotPermittedError, and the message says what to do', async () => {
    const { scope, ns } = await quietNamespace('tun-perm');
    try {
      const cmd = `exec ${process.execPath} --import tsx ${WORKER} ${ns.name}`;
      const r = await run(['capsh', '--drop=cap_net_admin', '--', '-c', cmd], { allowFailure: true });
      assert.match(r.stdout, /^ERROR NotPermittedError .*CAP_NET_ADMIN/m, r.stdout + r.stderr);
      const asRoot = await run([process.execPath, '--import', 'tsx', WORKER, ns.name]);
      assert.match(asRoot.stdout, /^OPENED flannel0/m, 'the same worker succeeds with the capability');
    } finally {
      await scope.cleanup();
    }
  });

  test('a namespace that does not exist is NamespaceError', () => {
    assert.throws(
      () => openTun({ netns: 'wl-tun-no-such-ns' }),
      (e: Error) => e instanceof NamespaceError && /ip netns add/.test(e.message),
    );
  });

  test('binding a UDP socket to an address the namespace lacks is TunnelIoError EADDRNOTAVAIL', async () => {
    const { scope, ns } = await quietNamespace('tun-bind');
    try {
      assert.throws(
        () => openUdp({ address: '192.0.2.77', port: 8285, netns: ns.name }),
        (e: Error) => e instanceof TunnelIoError && (e as TunnelError).code === 'EADDRNOTAVAIL',
      );
      assert.throws(
        () => openUdp({ address: 'not-an-ip' }),
        (e: Error) => e instanceof TunnelError,
      );
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
