// Spec versions and the result conversion between them. The result shape is the same from 0.3.0 to 1.0.0 except
// that 0.3.x and 0.4.0 tag each `ips` entry with `"version": "4" | "6"` and 1.0.0 dropped that field. Versions
// before 0.3.0 had another result shape altogether (`ip4`/`ip6`) and are not answered.
import { CniError, CniErrorCode } from './errors.ts';

/** What VERSION reports, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** The version of weft's own answers where no configuration names one (VERSION, errors before parsing). */
export const PREFERRED_VERSION: CniVersion = '1.0.0';

/** Checks a configuration's `cniVersion`; a missing one means 0.1.0 (spec), which is not answered. */
export function checkVersion(version: unknown): CniVersion {
  const v = version === undefined || version === '' ? '0.1.0' : version;
  if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v as CniVersion;
  throw new CniError(
    CniErrorCode.IncompatibleVersion,
    `incompatible CNI versions: config is ${JSON.stringify(v)}, weft supports ${SUPPORTED_VERSIONS.join(', ')}`,
  );
}

/** True when the version has CHECK (introduced in 0.4.0). */
export function versionHasCheck(v: CniVersion): boolean {
  return v === '0.4.0' || v === '1.0.0';
}

/** The VERSION answer. */
export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: PREFERRED_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { version?: string; address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The same result in version `to` (a new object; the input is not changed): the `version` of each `ips` entry is
 * removed for 1.0.0 and derived from the address family for older versions. Throws CniError(DecodeFailure) when
 * `result` is not a result object (not an object, `ips` not an array, an entry without an address).
 */
export function convertResult(result: unknown, to: CniVersion): CniResult {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw new CniError(CniErrorCode.DecodeFailure, 'delegate result is not a JSON object');
  }
  const r = result as CniResult;
  if (r.ips !== undefined && !Array.isArray(r.ips))
    throw new CniError(CniErrorCode.DecodeFailure, 'delegate result: "ips" is not an array');
  const ips = r.ips?.map((ip) => {
    if (typeof ip?.address !== 'string')
      throw new CniError(CniErrorCode.DecodeFailure, 'delegate result: an "ips" entry has no address');
    const { version: _old, ...rest } = ip;
    return to === '1.0.0' ? rest : { version: ip.address.includes(':') ? '6' : '4', ...rest };
  });
  return { ...r, cniVersion: to, ...(ips ? { ips } : {}) };
}
