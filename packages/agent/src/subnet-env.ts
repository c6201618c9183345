// flannel's /run/flannel/subnet.env, which CNI plugins read to configure pods:
//   FLANNEL_NETWORK=10.244.0.0/16  FLANNEL_SUBNET=10.244.1.1/24  FLANNEL_MTU=1450  FLANNEL_IPMASQ=false
// Written atomically (temp file + rename) so a reader never sees half a file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NetConfig } from './config.ts';
import { formatIp4, formatIp4Net, type Ip4Net } from './ip.ts';

/** FLANNEL_SUBNET is the subnet's first host address with the subnet's prefix length, as flannel writes it. */
export function subnetEnvValues(config: NetConfig, subnet: Ip4Net, mtu: number, ipMasq: boolean): Record<string, string> {
  return {
    FLANNEL_NETWORK: formatIp4Net(config.network),
    FLANNEL_SUBNET: `${formatIp4(subnet.ip + 1)}/${subnet.prefixLen}`,
    FLANNEL_MTU: String(mtu),
    FLANNEL_IPMASQ: String(ipMasq),
  };
}

/** KEY=value lines, in the order given. */
export function formatSubnetEnv(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('');
}

/** Writes the file atomically, creating its directory. */
export function writeSubnetEnv(path: string, values: Record<string, string>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatSubnetEnv(values));
  renameSync(tmp, path);
}
