// The lease store from the command line: flanneld's --etcd-* flags, or weft's --store. Pure.
import { ConfigError } from './config.ts';
import type { FlagValues } from './flags.ts';

export const DEFAULT_EMBEDDED_PATH = '/var/lib/weft/leases.db';
export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';

/** Client-certificate TLS towards etcd (flanneld's --etcd-cafile/--etcd-certfile/--etcd-keyfile). */
export interface EtcdTlsSettings {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export type StoreSettings =
  | { readonly kind: 'embedded'; readonly path: string }
  | {
      readonly kind: 'etcd';
      /** Endpoint URLs with their scheme (`http://10.0.0.2:2379`, `https://...`). */
      readonly endpoints: readonly string[];
      readonly prefix: string;
      /** Present when any of the TLS files is given. */
      readonly tls?: EtcdTlsSettings;
      /** Present when --etcd-username is given. */
      readonly auth?: { readonly username: string; readonly password: string };
    };

const text = (values: FlagValues, name: string): string | undefined => values[name] as string | undefined;

function nonEmpty(values: FlagValues, name: string): string | null {
  const v = text(values, name);
  if (v === undefined) return null;
  if (!v.trim()) throw new ConfigError(`--${name}`, 'must not be empty');
  return v;
}

/**
 * --etcd-endpoints (flanneld's comma list of URLs) or --store embedded:PATH | etcd://HOST:PORT[,...]; with
 * neither, the embedded store at DEFAULT_EMBEDDED_PATH. Throws ConfigError naming the flag.
 */
export function parseStore(values: FlagValues): StoreSettings {
  const prefix = text(values, 'etcd-prefix');
  if (prefix !== undefined && !/^\/[^\s]*[^/\s]$/.test(prefix)) {
    throw new ConfigError(
      '--etcd-prefix',
      `expected an absolute key prefix without a trailing "/", such as ${DEFAULT_ETCD_PREFIX}`,
    );
  }
  const store = text(values, 'store');
  const urls = text(values, 'etcd-endpoints');
  if (store !== undefined && urls !== undefined)
    throw new ConfigError('--store', 'give --etcd-endpoints or --store, not both');
  if (urls !== undefined)
    return etcdStore(
      urls.split(',').map((u) => parseEndpointUrl(u.trim())),
      prefix,
      values,
    );
  if (store === undefined) return { kind: 'embedded', path: DEFAULT_EMBEDDED_PATH };
  if (store.startsWith('embedded:')) {
    const path = store.slice('embedded:'.length);
    if (!path) throw new ConfigError('--store', 'expected embedded:PATH, e.g. embedded:/var/lib/weft/leases.db');
    return { kind: 'embedded', path };
  }
  if (store.startsWith('etcd://')) {
    const hostPorts = store.slice('etcd://'.length).split(',');
    return etcdStore(
      hostPorts.map((hp) => `http://${parseEndpoint(hp.replace(/^etcd:\/\//, ''))}`),
      prefix,
      values,
    );
  }
  throw new ConfigError('--store', `expected embedded:PATH or etcd://HOST:PORT[,HOST:PORT...], got "${store}"`);
}

function etcdStore(endpoints: string[], prefix: string | undefined, values: FlagValues): StoreSettings {
  const [caFile, certFile, keyFile] = [
    nonEmpty(values, 'etcd-cafile'),
    nonEmpty(values, 'etcd-certfile'),
    nonEmpty(values, 'etcd-keyfile'),
  ];
  if ((certFile === null) !== (keyFile === null)) {
    throw new ConfigError(
      certFile ? '--etcd-keyfile' : '--etcd-certfile',
      'give --etcd-certfile and --etcd-keyfile together',
    );
  }
  const username = nonEmpty(values, 'etcd-username');
  const password = text(values, 'etcd-password') ?? '';
  if (username === null && password) throw new ConfigError('--etcd-password', 'needs --etcd-username');
  return {
    kind: 'etcd',
    endpoints,
    prefix: prefix ?? DEFAULT_ETCD_PREFIX,
    ...(caFile || certFile ? { tls: definedOnly({ caFile, certFile, keyFile }) } : {}),
    ...(username !== null ? { auth: { username, password } } : {}),
  };
}

function definedOnly(files: Record<string, string | null>): EtcdTlsSettings {
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v !== null)) as EtcdTlsSettings;
}

/** `http://HOST:PORT` or `https://HOST:PORT` (a trailing "/" allowed), as flanneld takes them. */
function parseEndpointUrl(url: string): string {
  const m = /^(https?):\/\/([^/]+?)\/?$/.exec(url);
  const hostPort = m ? tryEndpoint(m[2]!) : null;
  if (!m || !hostPort)
    throw new ConfigError('--etcd-endpoints', `"${url}" is not http://HOST:PORT or https://HOST:PORT (port 1..65535)`);
  return `${m[1]}://${hostPort}`;
}

function tryEndpoint(hostPort: string): string | null {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(hostPort);
  return m && Number(m[2]) >= 1 && Number(m[2]) <= 65535 ? `${m[1]}:${m[2]}` : null;
}

function parseEndpoint(hostPort: string): string {
  const ok = tryEndpoint(hostPort);
  if (!ok) throw new ConfigError('--store', `etcd endpoint "${hostPort}" is not HOST:PORT (port 1..65535)`);
  return ok;
}
