// The plugin's configuration (flannel's CNI keys) and the configuration it hands to its delegate. Design notes:
// - The merge is flannel's: `name` and `cniVersion` always come from the network; `type` (bridge), `ipMasq`
//   (the opposite of FLANNEL_IPMASQ), `mtu` (FLANNEL_MTU) and, for bridge, `isGateway` (true) only fill keys the
//   user's `delegate` left out; `ipam` starts from the user's `ipam` (type host-local unless set), and its ranges
//   (this node's subnets, IPv4 then IPv6: one range set each, so host-local gives a dual-stack container one
//   address per family) and routes (the user's, then one per cluster network, IPv4 then IPv6) are always ours.
// - With bridge as the delegate, the route to the cluster network names its gateway (the bridge's address, which
//   is host-local's default gateway). The kernel route is the one flannel's gets, but bridge's CHECK before
//   plugins v1.3.0 (Debian's is 1.1.1) only matches routes that carry a gateway (containernetworking/plugins#886).
// - What was delegated at ADD is saved and reused verbatim at DEL and CHECK, so a changed or deleted subnet.env
//   cannot make DEL release the wrong thing; only the runtime's per-call keys (prevResult...) are added then.
import { CniError, CniErrorCode } from './errors.ts';
import type { FlannelSubnetEnv } from './subnet-env.ts';
import { checkVersion, type CniVersion } from './versions.ts';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';
/** Keys a runtime sets per call (not per network); passed to the delegate on every call, never saved. */
const PER_CALL_KEYS = ['prevResult', 'runtimeConfig', 'args'] as const;

type Json = Record<string, unknown>;

export interface WeftNetConf {
  cniVersion: CniVersion;
  name: string;
  subnetFile: string;
  dataDir: string;
  delegate: Json;
  ipam: Json | undefined;
  /** The whole configuration as received (for the per-call keys). */
  raw: Json;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(raw: Json, key: string, fallback: string): string {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'string' || v === '')
    throw new CniError(CniErrorCode.InvalidConfig, `"${key}" must be a non-empty string`);
  return v;
}

function optionalObject(raw: Json, key: string): Json | undefined {
  const v = raw[key];
  if (v !== undefined && !isObject(v)) throw new CniError(CniErrorCode.InvalidConfig, `"${key}" must be an object`);
  return v;
}

/**
 * Decodes the network configuration from stdin. Throws CniError: DecodeFailure (not JSON, not an object),
 * IncompatibleVersion (cniVersion missing or not answered), InvalidConfig (name missing, a key of the wrong type).
 */
export function parseNetConf(text: string): WeftNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniErrorCode.DecodeFailure, 'network configuration on stdin is not JSON', (e as Error).message);
  }
  if (!isObject(raw))
    throw new CniError(CniErrorCode.DecodeFailure, 'network configuration on stdin is not a JSON object');
  const cniVersion = checkVersion(raw.cniVersion);
  if (typeof raw.name !== 'string' || raw.name === '')
    throw new CniError(CniErrorCode.InvalidConfig, '"name" must be a non-empty string');
  return {
    cniVersion,
    name: raw.name,
    subnetFile: optionalString(raw, 'subnetFile', DEFAULT_SUBNET_FILE),
    dataDir: optionalString(raw, 'dataDir', DEFAULT_DATA_DIR),
    delegate: optionalObject(raw, 'delegate') ?? {},
    ipam: optionalObject(raw, 'ipam'),
    raw,
  };
}

const isIpv6 = (prefix: string): boolean => prefix.includes(':');

/** The delegate's IPAM section: the user's base, host-local by default, this node's ranges and the cluster routes. */
function delegateIpam(conf: WeftNetConf, env: FlannelSubnetEnv, bridgeGateway: boolean): Json {
  const ipam: Json = { ...conf.ipam };
  if (!('type' in ipam)) ipam.type = 'host-local';
  const userRoutes = Array.isArray(conf.ipam?.routes) ? conf.ipam.routes : [];
  ipam.ranges = env.subnets.map((subnet) => [{ subnet }]);
  // a route's gateway is the bridge's address of the route's family (the first address of that family's subnet)
  const gatewayFor = (dst: string) => env.gateways[env.subnets.findIndex((s) => isIpv6(s) === isIpv6(dst))];
  ipam.routes = [...userRoutes, ...env.networks.map((dst) => (bridgeGateway ? { dst, gw: gatewayFor(dst) } : { dst }))];
  return ipam;
}

/** The configuration delegated at ADD (and saved for DEL), built from flannel's rules above. No I/O. */
export function delegateConfig(conf: WeftNetConf, env: FlannelSubnetEnv): Json {
  const d: Json = { ...conf.delegate, name: conf.name, cniVersion: conf.cniVersion };
  if (!('type' in d)) d.type = 'bridge';
  if (typeof d.type !== 'string' || d.type === '')
    throw new CniError(CniErrorCode.InvalidConfig, '"delegate.type" must be a non-empty string');
  if (!('ipMasq' in d)) d.ipMasq = !env.ipMasq;
  if (!('mtu' in d)) d.mtu = env.mtu;
  if (d.type === 'bridge' && !('isGateway' in d)) d.isGateway = true;
  d.ipam = delegateIpam(conf, env, d.type === 'bridge' && d.isGateway === true);
  return d;
}

/** A saved delegate configuration with this call's per-call keys (prevResult, runtimeConfig, args) added. */
export function withCallKeys(saved: Json, conf: WeftNetConf): Json {
  const out: Json = { ...saved };
  for (const key of PER_CALL_KEYS) if (conf.raw[key] !== undefined) out[key] = conf.raw[key];
  return out;
}
