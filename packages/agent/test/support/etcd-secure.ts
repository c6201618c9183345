// A real single-member etcd on loopback for the TLS and auth tests: https with --client-cert-auth, or plain
// http with users, roles and `auth enable` set up through etcdctl. Its data dir and PID file are in the scope's
// dir; LabScope.cleanup() (in the test's finally) stops it by PID.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BackgroundProcess, type LabScope, type Netns, run } from '@weft/lab';
import type { TestCerts } from './certs.ts';

export interface SecureEtcd {
  proc: BackgroundProcess;
  endpoint: string;
  /** etcdctl against this etcd (root's credentials once auth is on); rejects when it fails. */
  etcdctl(...args: string[]): Promise<string>;
}

export interface SecureEtcdOptions {
  /** https with --client-cert-auth, the server's certificate from these. */
  certs?: TestCerts;
  /** The CA whose client certificates etcd accepts (default certs.caCert). */
  trustedCa?: string;
  /** Keep the data of an earlier start (a restart). */
  keepData?: boolean;
  /** Run etcd (and etcdctl) inside this namespace, listening on `host` (default 127.0.0.1). */
  ns?: Netns;
  host?: string;
}

/** The TLS flags of an https etcd with client certificate authentication (none for plain http). */
function tlsFlags(opts: SecureEtcdOptions): string[] {
  const { certs } = opts;
  return certs
    ? [
        '--client-cert-auth',
        '--trusted-ca-file',
        opts.trustedCa ?? certs.caCert,
        '--cert-file',
        certs.serverCert,
        '--key-file',
        certs.serverKey,
      ]
    : [];
}

/** argv of a new single-member etcd `name` with its data in `dataDir`, clients on `endpoint`, then `extra` flags. */
export function etcdArgv(
  name: string,
  dataDir: string,
  endpoint: string,
  peer: string,
  extra: string[] = [],
): string[] {
  return [
    'etcd',
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `${name}=${peer}`,
    '--initial-cluster-state',
    'new',
    ...extra,
  ];
}

/** Polls `etcdctl endpoint health` (bounded: 100 tries); throws with the log's tail when etcd never answers. */
async function waitHealthy(proc: BackgroundProcess, etcdctl: SecureEtcd['etcdctl'], endpoint: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!proc.running) throw new Error(`etcd exited early:\n${proc.log().slice(-2000)}`);
    if (
      await etcdctl('endpoint', 'health').then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`etcd did not become healthy on ${endpoint}:\n${proc.log().slice(-2000)}`);
}

/**
 * Starts etcd on HOST:clientPort (peer on 127.0.0.1:peerPort), data in scope.dir/name; with `certs`, https and
 * client-certificate auth. etcdctl uses the good client certificate, so with another `trustedCa` it is refused
 * too: then health is not waited for (the caller checks with its own client).
 */
export async function startSecureEtcd(
  scope: LabScope,
  name: string,
  clientPort: number,
  peerPort: number,
  opts: SecureEtcdOptions = {},
): Promise<SecureEtcd> {
  const dataDir = join(scope.dir, name);
  if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
  const endpoint = `${opts.certs ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = scope.spawn(
    `${name}-${Date.now()}`,
    opts.ns ?? null,
    etcdArgv(name, dataDir, endpoint, peer, tlsFlags(opts)),
  );
  const c = opts.certs;
  const ctlTls = c ? ['--cacert', c.caCert, '--cert', c.clientCert, '--key', c.clientKey] : [];
  const etcdctl = async (...args: string[]) => {
    const env = { ...process.env, ETCDCTL_API: '3' };
    const argv = ['etcdctl', '--endpoints', endpoint, '--dial-timeout', '2s', ...ctlTls, ...args];
    if (opts.ns) return (await opts.ns.exec(['env', 'ETCDCTL_API=3', ...argv], { timeoutMs: 20_000 })).stdout;
    return (await run(argv, { env, timeoutMs: 20_000 })).stdout;
  };
  if (!opts.trustedCa) await waitHealthy(proc, etcdctl, endpoint);
  return { proc, endpoint, etcdctl };
}

/**
 * Turns on etcd auth: root (password `rootPassword`), and `username` with a role that may read and write
 * `prefix/` only. Later etcdctl calls of `etcd` run as root.
 */
export async function enableAuth(
  etcd: SecureEtcd,
  rootPassword: string,
  username: string,
  password: string,
  prefix: string,
): Promise<SecureEtcd> {
  await etcd.etcdctl('user', 'add', `root:${rootPassword}`);
  await etcd.etcdctl('user', 'grant-role', 'root', 'root');
  await etcd.etcdctl('user', 'add', `${username}:${password}`);
  await etcd.etcdctl('role', 'add', 'flannel');
  await etcd.etcdctl('role', 'grant-permission', 'flannel', '--prefix=true', 'readwrite', `${prefix}/`);
  await etcd.etcdctl('user', 'grant-role', username, 'flannel');
  await etcd.etcdctl('auth', 'enable');
  return { ...etcd, etcdctl: (...a) => etcd.etcdctl('--user', `root:${rootPassword}`, ...a) };
}
