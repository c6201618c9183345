// Test certificates made with the openssl command (Debian's openssl 3.0): two CAs, an etcd server certificate
// for 127.0.0.1, client certificates (good, expired, signed by the other CA). EC P-256 keys: quick to make.
// OpenSSL 3.0's `req`/`x509` have no not-before/not-after options (3.4 added them), so the expired
// certificate is issued by `openssl ca -startdate/-enddate` from a throwaway CA database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '@weft/lab';

export interface TestCerts {
  dir: string;
  /** The CA that signed the server and the good client certificates. */
  caCert: string;
  /** Another CA, which signed nothing the server trusts except `otherClient*`. */
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Valid key and a certificate that expired in 2020 (signed by the right CA). */
  expiredCert: string;
  expiredKey: string;
  /** A client certificate signed by the other CA. */
  otherClientCert: string;
  otherClientKey: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  const res = await run(['openssl', ...args]);
  if (res.code !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr}`);
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '30',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

/** A key and CSR, then a certificate signed by `ca` with the extensions in `ext` (openssl x509 -extfile). */
async function makeLeaf(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  ext: string,
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await openssl(['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '30',
    '-extfile',
    extFile,
  ]);
  return { cert, key };
}

/** A client certificate valid from 2020-01-01 to 2020-02-01, issued by `openssl ca` with explicit dates. */
async function makeExpired(dir: string, ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const db = join(dir, 'ca-db');
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '1000\n');
  const conf = join(db, 'ca.cnf');
  writeFileSync(
    conf,
    [
      '[ca]',
      'default_ca = dflt',
      '[dflt]',
      `database = ${db}/index.txt`,
      `new_certs_dir = ${db}`,
      `serial = ${db}/serial`,
      'default_md = sha256',
      'policy = any',
      'x509_extensions = client',
      '[any]',
      'commonName = supplied',
      '[client]',
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const key = join(dir, 'expired.key');
  const csr = join(dir, 'expired.csr');
  const cert = join(dir, 'expired.crt');
  await openssl(['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', '/CN=weft-expired']);
  await openssl([
    'ca',
    '-batch',
    '-config',
    conf,
    '-cert',
    ca.cert,
    '-keyfile',
    ca.key,
    '-in',
    csr,
    '-out',
    cert,
    '-notext',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
  ]);
  return { cert, key };
}

/**
 * Makes every test certificate under `dir` (created); the server's names its `serverIps` and localhost.
 * Takes about a second. Throws when openssl fails.
 */
export async function makeTestCerts(dir: string, serverIps: readonly string[] = ['127.0.0.1']): Promise<TestCerts> {
  mkdirSync(dir, { recursive: true });
  const ca = await makeCa(dir, 'ca');
  const other = await makeCa(dir, 'other-ca');
  const server = await makeLeaf(
    dir,
    'server',
    ca,
    `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${serverIps.map((ip) => `IP:${ip}`).join(',')},DNS:localhost\n`,
  );
  const client = await makeLeaf(dir, 'weft', ca, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const rogue = await makeLeaf(dir, 'rogue', other, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const expired = await makeExpired(dir, ca);
  return {
    dir,
    caCert: ca.cert,
    otherCaCert: other.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    expiredCert: expired.cert,
    expiredKey: expired.key,
    otherClientCert: rogue.cert,
    otherClientKey: rogue.key,
  };
}
