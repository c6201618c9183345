// Command-line settings of `weft agent`, parsed and validated. Pure: argv and defaults in, settings or
// ConfigError out (the CLI prints the error and exits 2). Flag names follow flanneld's where it has one.
import { parseArgs } from 'node:util';
import { ConfigError } from './config.ts';
import { tryParseIpv4 } from '@weft/netaddr';

export const DEFAULT_EMBEDDED_PATH = '/var/lib/weft/leases.db';
export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_NET_CONFIG = '/etc/weft/net-conf.json';
export const DEFAULT_METRICS_PORT = 9465;
/** flannel's lease lifetime (24 h) and renew margin (1 h before expiry). */
export const DEFAULT_LEASE_TTL_S = 24 * 3600;
export const DEFAULT_RENEW_MARGIN_S = 3600;

export type StoreSettings =
  | { readonly kind: 'embedded'; readonly path: string }
  | { readonly kind: 'etcd'; readonly endpoints: readonly string[]; readonly prefix: string };

export interface AgentSettings {
  /** net-conf.json path; with etcd, null means "read PREFIX/config from etcd". */
  readonly netConfigFile: string | null;
  readonly iface: string | null;
  /** Validated dotted-quad IPv4, or null to take the interface's address. */
  readonly publicIp: string | null;
  readonly store: StoreSettings;
  readonly subnetFile: string;
  /** 0 disables the metrics/health server. */
  readonly metricsPort: number;
  readonly nodeName: string;
  readonly leaseTtlSeconds: number;
  readonly renewMarginSeconds: number;
  readonly ipMasq: boolean;
  readonly logLevel: string;
}

const OPTIONS = {
  'net-config': { type: 'string' },
  iface: { type: 'string' },
  'public-ip': { type: 'string' },
  store: { type: 'string' },
  'etcd-prefix': { type: 'string' },
  'subnet-file': { type: 'string' },
  'metrics-port': { type: 'string' },
  'node-name': { type: 'string' },
  'subnet-lease-ttl': { type: 'string' },
  'subnet-lease-renew-margin': { type: 'string' },
  'ip-masq': { type: 'boolean' },
  'log-level': { type: 'string' },
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * Parses `weft agent` flags (argv without the command words). `hostname` supplies the default node name.
 * Throws ConfigError whose `field` is the flag (`--store`) for unknown flags and bad values.
 */
export function parseAgentArgs(argv: readonly string[], defaults: { hostname: string }): AgentSettings {
  const v = parseFlags(argv);
  const store = parseStore(v.store, v['etcd-prefix']);
  const ttl = readInt('--subnet-lease-ttl', v['subnet-lease-ttl'], DEFAULT_LEASE_TTL_S, 2, 30 * 86400);
  const margin = readInt('--subnet-lease-renew-margin', v['subnet-lease-renew-margin'], DEFAULT_RENEW_MARGIN_S, 1, ttl - 1);
  const logLevel = v['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}`);
  return {
    netConfigFile: v['net-config'] ?? (store.kind === 'etcd' ? null : DEFAULT_NET_CONFIG),
    iface: nonEmpty('--iface', v.iface),
    publicIp: parsePublicIp(v['public-ip']),
    store,
    subnetFile: nonEmpty('--subnet-file', v['subnet-file']) ?? DEFAULT_SUBNET_FILE,
    metricsPort: readInt('--metrics-port', v['metrics-port'], DEFAULT_METRICS_PORT, 0, 65535),
    nodeName: parseNodeName(v['node-name'] ?? defaults.hostname),
    leaseTtlSeconds: ttl,
    renewMarginSeconds: margin,
    ipMasq: v['ip-masq'] ?? false,
    logLevel,
  };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const flag = /'(--?[\w-]+)/.exec((e as Error).message)?.[1] ?? 'arguments';
    throw new ConfigError(flag, (e as Error).message);
  }
}

/** `embedded:PATH` or `etcd://HOST:PORT[,HOST:PORT...]`; default embedded at DEFAULT_EMBEDDED_PATH. */
function parseStore(text: string | undefined, prefix: string | undefined): StoreSettings {
  if (prefix !== undefined && !/^\/[^\s]*[^/\s]$/.test(prefix)) {
    throw new ConfigError('--etcd-prefix', `expected an absolute key prefix without a trailing "/", such as ${DEFAULT_ETCD_PREFIX}`);
  }
  if (text === undefined) return { kind: 'embedded', path: DEFAULT_EMBEDDED_PATH };
  if (text.startsWith('embedded:')) {
    const path = text.slice('embedded:'.length);
    if (!path) throw new ConfigError('--store', 'expected embedded:PATH, e.g. embedded:/var/lib/weft/leases.db');
    return { kind: 'embedded', path };
  }
  if (text.startsWith('etcd://')) {
    const endpoints = text.slice('etcd://'.length).split(',').map((hp) => parseEndpoint(hp.replace(/^etcd:\/\//, '')));
    return { kind: 'etcd', endpoints, prefix: prefix ?? DEFAULT_ETCD_PREFIX };
  }
  throw new ConfigError('--store', `expected embedded:PATH or etcd://HOST:PORT[,HOST:PORT...], got "${text}"`);
}

function parseEndpoint(hostPort: string): string {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(hostPort);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new ConfigError('--store', `etcd endpoint "${hostPort}" is not HOST:PORT (port 1..65535)`);
  }
  return `${m[1]}:${m[2]}`;
}

function parsePublicIp(text: string | undefined): string | null {
  if (text === undefined) return null;
  const ip = tryParseIpv4(text);
  if (ip === null || ip === 0 || ip === 0xffffffff) throw new ConfigError('--public-ip', `expected a unicast IPv4 address, got "${text}"`);
  return text;
}

function parseNodeName(name: string): string {
  // Same shape as a DNS name / Kubernetes node name, so it is safe in keys, labels and logs.
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(name)) {
    throw new ConfigError('--node-name', `"${name}" is not a host name (letters, digits, "-" and ".")`);
  }
  return name;
}

function nonEmpty(field: string, v: string | undefined): string | null {
  if (v === undefined) return null;
  if (!v.trim()) throw new ConfigError(field, 'must not be empty');
  return v;
}

function readInt(field: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new ConfigError(field, `expected an integer in ${min}..${max}, got "${text}"`);
  return n;
}
