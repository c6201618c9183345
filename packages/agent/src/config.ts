// flannel's net-conf.json, parsed and validated into a NetConfig. Pure: text in, value or ConfigError out.
//
// Defaults follow flannel's documented rules (Documentation/configuration.md):
// - SubnetLen: 24, unless Network is smaller than a /22, then Network's prefix + 2 (so four subnets fit).
// - SubnetMin: the SECOND subnet of Network (flannel skips the first, e.g. 10.244.0.0/24 of 10.244.0.0/16,
//   whose first address would be the network address itself). SubnetMax: the last subnet of Network.
// - Backend: udp when absent. Port: udp 8285, vxlan 8472 (flannel's, not IANA's 4789). VNI: 1.
// We ask SubnetLen > Network's prefix and <= 30; flannel additionally wants room for four subnets.
// Backend.Type `host-gw` is flannel's name for the native backend (`native` stays as an alias). vxlan's
// DirectRouting routes natively to peers on this node's L2 subnet. Keys weft does not implement (Backend.MTU,
// GBP, Learning, MacPrefix, ...) are not errors, as in flannel, but never silently dropped: each
// becomes a ConfigWarning naming the key, which the agent logs at start.
// Dual stack and IPv6 only (EnableIPv4, EnableIPv6 and the IPv6* keys) follow flannel's rules in config-ipv6.ts.
// With EnableIPv4 false the IPv4 fields hold flannel's zero values (Network 0.0.0.0/0, SubnetLen 0).
import { tryParseIpv4Prefix, tryParseIpv4, formatIpv4, ipv4Mask, ipv4PrefixSize, type Ipv4Prefix } from '@weft/netaddr';
import {
  IPV4_KEYS,
  IPV6_KEYS,
  offFamilyWarnings,
  readFamilies,
  readIpv6Config,
  type Ipv6NetConfig,
} from './config-ipv6.ts';

export type { Ipv6NetConfig } from './config-ipv6.ts';

export type BackendType = 'udp' | 'vxlan' | 'native';
export const BACKEND_TYPES: readonly BackendType[] = ['udp', 'vxlan', 'native'];
/** Backend.Type spellings accepted: flannel's names plus weft's `native`. */
const BACKEND_NAMES: Readonly<Record<string, BackendType>> = {
  udp: 'udp',
  vxlan: 'vxlan',
  'host-gw': 'native',
  native: 'native',
};
/** Top-level keys weft reads; any other key gets a warning. */
const KNOWN_KEYS = [...IPV4_KEYS, 'Backend', 'EnableIPv4', ...IPV6_KEYS];
/** Backend keys each backend reads (Type everywhere). */
const BACKEND_KEYS: Readonly<Record<BackendType, readonly string[]>> = {
  udp: ['Type', 'Port'],
  vxlan: ['Type', 'Port', 'VNI', 'DirectRouting'],
  native: ['Type'],
};

/**
 * LeaseAttrs.BackendType as flanneld writes it: the native backend is flannel's `host-gw`. flanneld's backends
 * skip leases whose BackendType is not their own, so a mixed host-gw cluster needs the flannel name on the wire.
 */
export function leaseBackendType(type: BackendType): string {
  return type === 'native' ? 'host-gw' : type;
}

/** Default UDP ports per backend (flannel's); native has none. */
export const DEFAULT_PORTS: Readonly<Record<BackendType, number>> = { udp: 8285, vxlan: 8472, native: 0 };
export const DEFAULT_VNI = 1;
export const MAX_VNI = 0xffffff; // 24-bit field, RFC 7348 section 5
export const MAX_SUBNET_LEN = 30;

export interface BackendConfig {
  readonly type: BackendType;
  /** UDP port of the encapsulation (0 for native). */
  readonly port: number;
  /** VXLAN network identifier (meaningful for vxlan only; still validated). */
  readonly vni: number;
  /** vxlan only: route natively (no encapsulation) to peers on this node's L2 subnet. */
  readonly directRouting: boolean;
}

/** A key of net-conf.json that weft reads but does not act on; `field` as written (`Backend.MTU`). */
export interface ConfigWarning {
  readonly field: string;
  readonly message: string;
}

/** A validated net-conf.json. Addresses are uint32. */
export interface NetConfig {
  /** EnableIPv4 (default true). False: IPv6 only, and the four IPv4 fields below are zero. */
  readonly enableIpv4: boolean;
  /** EnableIPv6 (default false): the node leases an IPv6 subnet as well (or only, without IPv4). */
  readonly enableIpv6: boolean;
  /** The IPv6 side when enableIpv6, else null. */
  readonly ipv6: Ipv6NetConfig | null;
  readonly network: Ipv4Prefix;
  readonly subnetLen: number;
  /** Network address of the lowest subnet a node may lease. */
  readonly subnetMin: number;
  /** Network address of the highest subnet a node may lease. */
  readonly subnetMax: number;
  readonly backend: BackendConfig;
  /** Keys present but not implemented by weft, to be logged at start (empty when there are none). */
  readonly warnings: readonly ConfigWarning[];
}

/**
 * A configuration value is wrong. `field` names it as the user wrote it (`SubnetLen`, `Backend.Type`,
 * `--store`); the message says what was expected. The CLI prints it and exits with code 2; not retryable.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Parses net-conf.json text; throws ConfigError (field `json` with line and column for bad JSON). */
export function parseNetConfig(text: string): NetConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('json', describeJsonError(text, e as Error));
  }
  return validateNetConfig(value);
}

function describeJsonError(text: string, e: Error): string {
  const m = /position (\d+)/.exec(e.message);
  if (!m) return `not valid JSON (${e.message})`;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `not valid JSON at line ${line} column ${column} (position ${pos}): ${e.message}`;
}

/** Validates an already-parsed net-conf object; throws ConfigError naming the first bad field. */
export function validateNetConfig(value: unknown): NetConfig {
  if (!isObject(value)) throw new ConfigError('json', 'expected a JSON object like {"Network": "10.244.0.0/16"}');
  const families = readFamilies(value);
  const warnings: ConfigWarning[] = [];
  for (const key of Object.keys(value)) {
    if (!KNOWN_KEYS.includes(key)) warnings.push({ field: key, message: unsupportedMessage(value[key]) });
  }
  const ipv6 = families.ipv6 ? readIpv6Config(value) : null;
  if (!families.ipv6) warnings.push(...offFamilyWarnings(value, IPV6_KEYS.slice(1), 'EnableIPv6 is not true'));
  const ipv4 = families.ipv4 ? readIpv4Side(value) : IPV4_OFF;
  if (!families.ipv4) warnings.push(...offFamilyWarnings(value, IPV4_KEYS, 'EnableIPv4 is false'));
  return {
    enableIpv4: families.ipv4,
    enableIpv6: families.ipv6,
    ipv6,
    ...ipv4,
    backend: readBackend(value.Backend, warnings),
    warnings,
  };
}

/** flannel's zero values for the IPv4 side of an IPv6-only network. */
const IPV4_OFF = { network: { ip: 0, prefixLen: 0 }, subnetLen: 0, subnetMin: 0, subnetMax: 0 };

function readIpv4Side(
  value: Record<string, unknown>,
): Pick<NetConfig, 'network' | 'subnetLen' | 'subnetMin' | 'subnetMax'> {
  const network = readNetwork(value.Network);
  const subnetLen = readSubnetLen(value.SubnetLen, network);
  const step = ipv4PrefixSize(subnetLen);
  const first = network.ip;
  const last = network.ip + ipv4PrefixSize(network.prefixLen) - step;
  const subnetMin = readBound('SubnetMin', value.SubnetMin, network, subnetLen, first + step);
  const subnetMax = readBound('SubnetMax', value.SubnetMax, network, subnetLen, last);
  if (subnetMin > subnetMax) {
    throw new ConfigError('SubnetMin', `${formatIpv4(subnetMin)} is above SubnetMax ${formatIpv4(subnetMax)}`);
  }
  return { network, subnetLen, subnetMin, subnetMax };
}

function unsupportedMessage(v: unknown): string {
  return `${JSON.stringify(v)} is not implemented by weft; ignored`;
}

function readNetwork(v: unknown): Ipv4Prefix {
  if (v === undefined) throw new ConfigError('Network', 'missing; expected an IPv4 CIDR such as "10.244.0.0/16"');
  if (typeof v !== 'string') throw new ConfigError('Network', 'expected a string such as "10.244.0.0/16"');
  const loose = tryParseIpv4Prefix(v, { strict: false });
  if (!loose) throw new ConfigError('Network', `"${v}" is not an IPv4 CIDR such as "10.244.0.0/16"`);
  if (!tryParseIpv4Prefix(v))
    throw new ConfigError(
      'Network',
      `"${v}" has host bits set; did you mean "${formatIpv4(loose.ip)}/${loose.prefixLen}"?`,
    );
  if (loose.prefixLen > MAX_SUBNET_LEN - 1)
    throw new ConfigError('Network', `/${loose.prefixLen} is too small to split into subnets`);
  return loose;
}

function readSubnetLen(v: unknown, network: Ipv4Prefix): number {
  const fallback = network.prefixLen > 22 ? network.prefixLen + 2 : 24;
  if (v === undefined || v === 0) return Math.min(fallback, MAX_SUBNET_LEN);
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ConfigError('SubnetLen', 'expected an integer prefix length such as 24');
  if (v <= network.prefixLen || v > MAX_SUBNET_LEN) {
    throw new ConfigError(
      'SubnetLen',
      `${v} is out of range: expected ${network.prefixLen + 1}..${MAX_SUBNET_LEN} for Network /${network.prefixLen}`,
    );
  }
  return v;
}

function readBound(field: string, v: unknown, network: Ipv4Prefix, subnetLen: number, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const ip = typeof v === 'string' ? tryParseIpv4(v) : null;
  if (ip === null)
    throw new ConfigError(field, `expected an IPv4 address such as "10.244.1.0", got ${JSON.stringify(v)}`);
  if ((ip & ipv4Mask(network.prefixLen)) >>> 0 !== network.ip) {
    throw new ConfigError(field, `${v} is outside Network ${formatIpv4(network.ip)}/${network.prefixLen}`);
  }
  if ((ip & ipv4Mask(subnetLen)) >>> 0 !== ip)
    throw new ConfigError(field, `${v} is not on a /${subnetLen} subnet boundary`);
  return ip;
}

function readBackend(v: unknown, warnings: ConfigWarning[]): BackendConfig {
  if (v === undefined) return { type: 'udp', port: DEFAULT_PORTS.udp, vni: DEFAULT_VNI, directRouting: false };
  if (!isObject(v)) throw new ConfigError('Backend', 'expected an object such as {"Type": "vxlan"}');
  const type = v.Type ?? 'udp';
  const t = typeof type === 'string' && Object.hasOwn(BACKEND_NAMES, type) ? BACKEND_NAMES[type]! : null;
  if (!t)
    throw new ConfigError(
      'Backend.Type',
      `unknown backend ${JSON.stringify(type)}; expected one of ${Object.keys(BACKEND_NAMES).join(', ')}`,
    );
  const port = readInt('Backend.Port', v.Port, DEFAULT_PORTS[t], 1, 65535);
  const vni = readInt('Backend.VNI', v.VNI, DEFAULT_VNI, 0, MAX_VNI);
  if (v.DirectRouting !== undefined && typeof v.DirectRouting !== 'boolean') {
    throw new ConfigError('Backend.DirectRouting', `expected true or false, got ${JSON.stringify(v.DirectRouting)}`);
  }
  for (const key of Object.keys(v)) {
    if (BACKEND_KEYS[t].includes(key)) continue;
    const why = BACKEND_KEYS.vxlan.includes(key)
      ? `not used by the ${type} backend; ignored`
      : unsupportedMessage(v[key]);
    warnings.push({ field: `Backend.${key}`, message: why });
  }
  return { type: t, port: t === 'native' ? 0 : port, vni, directRouting: t === 'vxlan' && v.DirectRouting === true };
}

function readInt(field: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined || (v === 0 && min > 0)) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Number of subnets a node can lease under this config. */
export function subnetCount(cfg: NetConfig): number {
  return (cfg.subnetMax - cfg.subnetMin) / ipv4PrefixSize(cfg.subnetLen) + 1;
}
