// How weft proves itself to etcd, as flanneld does: https endpoints, client-certificate TLS
// (--etcd-cafile/--etcd-certfile/--etcd-keyfile) and user/password (--etcd-username/--etcd-password).
// Design notes:
// - Files are read and checked once, before any connection: unreadable, not PEM, a key that does not match its
//   certificate, a certificate outside its validity period are ConfigErrors naming the flag (exit 2 at start).
// - What only the server can judge (our CA does not verify it; it rejects our certificate; wrong password; auth
//   required but none given; no permission on the prefix) comes back from gRPC as text. classifyEtcdError turns
//   it into a StoreCredentialError: a StoreUnavailableError (so at run time the lease manager keeps forwarding
//   and retries with back-off) whose message says what is wrong, and whose `field` names the flag to fix (so at
//   start the daemon exits 2 instead of waiting for an etcd that will never accept it).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.ts';
import { StoreUnavailableError } from '../lease.ts';

/** PEM files of client-certificate TLS; any may be absent (no CA file: the system's CAs). */
export interface EtcdTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface EtcdAuth {
  readonly username: string;
  readonly password: string;
}

/** The bytes handed to gRPC's createSsl. `rootCertificate` null: the system's CAs. */
export interface TlsMaterial {
  rootCertificate: Buffer | null;
  certChain?: Buffer;
  privateKey?: Buffer;
}

/**
 * etcd refused who we are (TLS or auth). A StoreUnavailableError, so run-time loops retry it with back-off;
 * at start the daemon turns it into a ConfigError on `field` (exit 2): retrying will not help.
 */
export class StoreCredentialError extends StoreUnavailableError {
  override name = 'StoreCredentialError';
  constructor(
    readonly field: string,
    readonly kind: 'tls' | 'auth',
    message: string,
  ) {
    super(message);
  }
}

function readPem(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      field,
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`,
    );
  }
}

function parseCert(field: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(field, `${path} holds no PEM certificate`);
  }
}

/** `CN=weft` from a certificate's subject or issuer text (one RDN per line). */
function cn(text: string): string {
  return text.split('\n').find((l) => l.startsWith('CN=')) ?? text.replace(/\n/g, ', ');
}

/** Describes a certificate for error lines: file, subject and issuer. */
export function describeCert(path: string, cert: X509Certificate): string {
  return `${path} (${cn(cert.subject)}, issued by ${cn(cert.issuer)})`;
}

/**
 * Reads and checks the TLS files (synchronously; call before connecting). Returns undefined when none is given.
 * Throws ConfigError naming the flag: unreadable file, no PEM inside, certificate without key (or key without
 * certificate), key not matching the certificate, certificate expired or not yet valid at `now`.
 */
export function readTlsMaterial(files: EtcdTlsFiles | undefined, now = Date.now()): TlsMaterial | undefined {
  if (!files || (!files.caFile && !files.certFile && !files.keyFile)) return undefined;
  if (!!files.certFile !== !!files.keyFile) {
    throw new ConfigError(
      files.certFile ? '--etcd-keyfile' : '--etcd-certfile',
      'a client certificate needs both --etcd-certfile and --etcd-keyfile',
    );
  }
  const material: TlsMaterial = { rootCertificate: null };
  if (files.caFile) {
    material.rootCertificate = readPem('--etcd-cafile', files.caFile);
    parseCert('--etcd-cafile', files.caFile, material.rootCertificate);
  }
  if (files.certFile && files.keyFile) {
    const certPem = readPem('--etcd-certfile', files.certFile);
    const cert = parseCert('--etcd-certfile', files.certFile, certPem);
    const keyPem = readPem('--etcd-keyfile', files.keyFile);
    let key: ReturnType<typeof createPrivateKey>;
    try {
      key = createPrivateKey(keyPem);
    } catch {
      throw new ConfigError('--etcd-keyfile', `${files.keyFile} holds no PEM private key`);
    }
    if (!cert.checkPrivateKey(key))
      throw new ConfigError(
        '--etcd-keyfile',
        `${files.keyFile} is not the key of ${describeCert(files.certFile, cert)}`,
      );
    const validTo = Date.parse(cert.validTo);
    const validFrom = Date.parse(cert.validFrom);
    if (validTo < now)
      throw new ConfigError(
        '--etcd-certfile',
        `certificate ${describeCert(files.certFile, cert)} expired at ${new Date(validTo).toISOString()}`,
      );
    if (validFrom > now)
      throw new ConfigError(
        '--etcd-certfile',
        `certificate ${describeCert(files.certFile, cert)} is not valid before ${new Date(validFrom).toISOString()}`,
      );
    material.certChain = certPem;
    material.privateKey = keyPem;
  }
  return material;
}

/** True when both materials hold the same bytes (a rotation on disk changes them). */
export function sameMaterial(a: TlsMaterial | undefined, b: TlsMaterial | undefined): boolean {
  const eq = (x?: Buffer | null, y?: Buffer | null) => (x ?? null) === (y ?? null) || (!!x && !!y && x.equals(y));
  return (
    eq(a?.rootCertificate, b?.rootCertificate) && eq(a?.certChain, b?.certChain) && eq(a?.privateKey, b?.privateKey)
  );
}

// TLS alerts the server sends when it refuses our certificate (RFC 8446 §6.2): bad_certificate 42,
// unsupported_certificate 43, certificate_expired 45, unknown_ca 48, certificate_required 116.
const PEER_REJECTED =
  /alert (bad certificate|unsupported certificate|certificate expired|unknown ca|certificate required)|alert number (42|43|45|48|116)\b/i;
// Node's own verification of the server's certificate against our CA (tls error texts).
const SERVER_UNTRUSTED =
  /unable to verify|self[- ]signed certificate|unable to get (local )?issuer|certificate has expired|certificate is not yet valid|Hostname\/IP does not match|ERR_TLS_CERT/i;

/** The alert's name in an OpenSSL error text ("sslv3 alert bad certificate" -> "bad certificate"). */
function alertName(message: string): string {
  const m = /alert ([a-z ]+?)(?::|$)|alert number (\d+)/im.exec(message);
  return m?.[1] ?? `number ${m?.[2] ?? '?'}`;
}

/** The useful part of a gRPC error text ("14 UNAVAILABLE: No connection established. Last error: X (time)."). */
function detail(message: string): string {
  const last = /Last error: (?:Error: )?([^\n]*?)(?: \(\d{4}-[^)]*\))?\.?(?: Resolution note:.*)?$/m.exec(message)?.[1];
  return (last ?? message).trim();
}

export interface CredentialContext {
  readonly tls?: EtcdTlsFiles;
  readonly auth?: EtcdAuth;
  readonly prefix: string;
}

/**
 * Maps an etcd3/gRPC failure to the error weft reports: StoreCredentialError for TLS and auth refusals,
 * else StoreUnavailableError ("etcd unreachable: ..."). Never throws.
 */
export function classifyEtcdError(e: unknown, ctx: CredentialContext): StoreUnavailableError {
  const message = (e as Error)?.message ?? String(e);
  const user = ctx.auth?.username;
  if (/authentication failed|invalid user ID or password/i.test(message)) {
    return new StoreCredentialError(
      '--etcd-password',
      'auth',
      `etcd auth: etcd refused user "${user}": wrong user name or password`,
    );
  }
  if (/user name is empty|invalid auth token|auth token is not provided/i.test(message) && !user) {
    return new StoreCredentialError(
      '--etcd-username',
      'auth',
      'etcd auth: etcd requires a user name and password (--etcd-username, --etcd-password)',
    );
  }
  if (/permission denied/i.test(message)) {
    return new StoreCredentialError(
      '--etcd-username',
      'auth',
      `etcd auth: user "${user ?? '(none)'}" may not read and write ${ctx.prefix}/ (grant it a role with readwrite on that prefix)`,
    );
  }
  if (PEER_REJECTED.test(message)) {
    const cert = ctx.tls?.certFile;
    return cert
      ? new StoreCredentialError(
          '--etcd-certfile',
          'tls',
          `etcd TLS: etcd refused the client certificate ${cert}: not signed by a CA it trusts, or expired (TLS alert: ${alertName(message)})`,
        )
      : new StoreCredentialError(
          '--etcd-certfile',
          'tls',
          'etcd TLS: etcd requires a client certificate (--etcd-certfile, --etcd-keyfile)',
        );
  }
  if (SERVER_UNTRUSTED.test(message)) {
    const ca = ctx.tls?.caFile ? `--etcd-cafile ${ctx.tls.caFile}` : "the system's CAs";
    return new StoreCredentialError(
      '--etcd-cafile',
      'tls',
      `etcd TLS: the server's certificate is not trusted by ${ca}: ${detail(message)}`,
    );
  }
  return new StoreUnavailableError(`etcd unreachable: ${detail(message)}`, { cause: e });
}
