// Command-line settings of `weft agent`, parsed and validated. Pure: argv, FLANNELD_* variables and defaults in,
// settings or ConfigError out (the CLI prints the error and exits 2). flanneld's flags keep flanneld's names,
// defaults and units (flags.ts lists them); weft's own sit beside them.
import { formatIpv6, tryParseIp, tryParseIpv4, tryParseIpv6 } from '@weft/netaddr';
import { ConfigError } from './config.ts';
import { parseAgentFlags, type FlagValues } from './flags.ts';
import { parseStore, type StoreSettings } from './settings-store.ts';
import { weftSettings, type WeftSettings } from './weft-flags.ts';

export {
  DEFAULT_EMBEDDED_PATH,
  DEFAULT_ETCD_PREFIX,
  type EtcdTlsSettings,
  type StoreSettings,
} from './settings-store.ts';
export type { WeftSettings } from './weft-flags.ts';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_NET_CONFIG = '/etc/weft/net-conf.json';
export const DEFAULT_METRICS_PORT = 9465;
/** flannel's lease lifetime (24 h) and renew margin (1 h before expiry; the flag is in minutes, as flanneld's). */
export const DEFAULT_LEASE_TTL_S = 24 * 3600;
export const DEFAULT_RENEW_MARGIN_S = 3600;

export interface AgentSettings {
  /** net-conf.json path; with etcd, null means "read PREFIX/config from etcd". */
  readonly netConfigFile: string | null;
  /** --iface in order: interface names or addresses; the first that matches wins. */
  readonly iface: readonly string[];
  /** --iface-regex in order, tried when no --iface is given. */
  readonly ifaceRegex: readonly string[];
  /** --iface-can-reach: the interface of the route to this address (IPv4 or IPv6). */
  readonly ifaceCanReach: string | null;
  /** Validated dotted-quad IPv4, or null to take the interface's address. */
  readonly publicIp: string | null;
  /** --public-ipv6 (FLANNELD_PUBLIC_IPV6) in RFC 5952 text, or null to take the interface's IPv6 address. */
  readonly publicIpv6: string | null;
  readonly store: StoreSettings;
  readonly subnetFile: string;
  /** /metrics and /status (weft's); port 0 disables. */
  readonly metricsIp: string;
  readonly metricsPort: number;
  /** /healthz and /readyz (flanneld's healthz server); port 0 disables. */
  readonly healthzIp: string;
  readonly healthzPort: number;
  readonly nodeName: string;
  readonly leaseTtlSeconds: number;
  readonly renewMarginSeconds: number;
  readonly ipMasq: boolean;
  readonly iptablesForwardRules: boolean;
  readonly iptablesResyncSeconds: number;
  readonly logLevel: string;
  readonly weft: WeftSettings;
}

export interface SettingsDefaults {
  hostname: string;
  /** Where FLANNELD_* variables come from (process.env in the CLI); none when omitted. */
  env?: Readonly<Record<string, string | undefined>>;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** What a `weft agent` command line asks for. */
export type AgentCommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; settings: AgentSettings };

/** Parses `weft agent` argv (without the command words) and FLANNELD_* variables. Throws ConfigError naming the flag. */
export function parseAgentCommandLine(argv: readonly string[], defaults: SettingsDefaults): AgentCommandLine {
  const parsed = parseAgentFlags(argv, defaults.env ?? {});
  if (parsed.kind !== 'run') return parsed;
  return { kind: 'run', settings: settingsFrom(parsed.values, defaults.hostname) };
}

/** Like parseAgentCommandLine for a run; --help and --version throw ConfigError. */
export function parseAgentArgs(argv: readonly string[], defaults: SettingsDefaults): AgentSettings {
  const parsed = parseAgentCommandLine(argv, defaults);
  if (parsed.kind !== 'run') throw new ConfigError(parsed.kind === 'help' ? '--help' : '--version', 'asks for no run');
  return parsed.settings;
}

function settingsFrom(values: FlagValues, hostname: string): AgentSettings {
  const str = (name: string) => values[name] as string | undefined;
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const bool = (name: string, fallback: boolean) => (values[name] as boolean | undefined) ?? fallback;
  const store = parseStore(values);
  const ttl = readInt('--subnet-lease-ttl', str('subnet-lease-ttl'), DEFAULT_LEASE_TTL_S, 2, 30 * 86400);
  const marginText = str('subnet-lease-renew-margin');
  const marginMinutes = readInt('--subnet-lease-renew-margin', marginText, DEFAULT_RENEW_MARGIN_S / 60, 1, 30 * 1440);
  // Only a margin given on the command line can be wrong; the default shrinks to half of a short TTL.
  const marginSeconds = marginText === undefined ? Math.min(DEFAULT_RENEW_MARGIN_S, ttl / 2) : marginMinutes * 60;
  if (marginSeconds >= ttl) {
    throw new ConfigError(
      '--subnet-lease-renew-margin',
      `${marginMinutes} minutes is not less than the lease lifetime (${ttl} s)`,
    );
  }
  const netConfig = str('net-config-path') ?? str('net-config') ?? str('config');
  return {
    netConfigFile: nonEmpty('--net-config-path', netConfig) ?? (store.kind === 'etcd' ? null : DEFAULT_NET_CONFIG),
    iface: list('iface').map((v) => nonEmpty('--iface', v)!),
    ifaceRegex: list('iface-regex').map(checkRegex),
    ifaceCanReach: anyAddress('--iface-can-reach', str('iface-can-reach')),
    publicIp: parsePublicIp(str('public-ip')),
    publicIpv6: parsePublicIpv6(str('public-ipv6')),
    store,
    subnetFile: nonEmpty('--subnet-file', str('subnet-file')) ?? DEFAULT_SUBNET_FILE,
    metricsIp: address('--metrics-ip', str('metrics-ip')) ?? '127.0.0.1',
    metricsPort: readInt('--metrics-port', str('metrics-port'), DEFAULT_METRICS_PORT, 0, 65535),
    healthzIp: address('--healthz-ip', str('healthz-ip')) ?? '0.0.0.0',
    healthzPort: readInt('--healthz-port', str('healthz-port'), 0, 0, 65535),
    nodeName: parseNodeName(str('node-name') ?? hostname),
    leaseTtlSeconds: ttl,
    renewMarginSeconds: marginSeconds,
    ipMasq: bool('ip-masq', false),
    iptablesForwardRules: bool('iptables-forward-rules', true),
    iptablesResyncSeconds: readInt('--iptables-resync', str('iptables-resync'), 5, 1, 86400),
    logLevel: logLevel(str('log-level'), str('v')),
    weft: weftSettings(values),
  };
}

/** --log-level wins; else flanneld's -v=N (0 info, 1 or more debug). */
function logLevel(level: string | undefined, verbosity: string | undefined): string {
  if (level !== undefined) {
    if (!LOG_LEVELS.includes(level)) throw new ConfigError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}`);
    return level;
  }
  return readInt('-v', verbosity, 0, 0, 10) > 0 ? 'debug' : 'info';
}

function checkRegex(text: string): string {
  try {
    new RegExp(text);
  } catch (e) {
    throw new ConfigError('--iface-regex', `bad regular expression "${text}": ${(e as Error).message}`);
  }
  return text;
}

function address(field: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  if (tryParseIpv4(text) === null) throw new ConfigError(field, `expected an IPv4 address, got "${text}"`);
  return text;
}

/** An IPv4 or IPv6 address, kept as given. */
function anyAddress(field: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  if (tryParseIp(text) === null) throw new ConfigError(field, `expected an IPv4 or IPv6 address, got "${text}"`);
  return text;
}

/** A unicast IPv6 address (not ::, ::1 or multicast ff00::/8), normalised to RFC 5952 text as flanneld writes it. */
function parsePublicIpv6(text: string | undefined): string | null {
  if (text === undefined) return null;
  const ip = tryParseIpv6(text);
  if (ip === null || ip <= 1n || ip >> 120n === 0xffn)
    throw new ConfigError('--public-ipv6', `expected a unicast IPv6 address, got "${text}"`);
  return formatIpv6(ip);
}

function parsePublicIp(text: string | undefined): string | null {
  if (text === undefined) return null;
  const ip = tryParseIpv4(text);
  if (ip === null || ip === 0 || ip === 0xffffffff)
    throw new ConfigError('--public-ip', `expected a unicast IPv4 address, got "${text}"`);
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
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new ConfigError(field, `expected an integer in ${min}..${max}, got "${text}"`);
  return n;
}
