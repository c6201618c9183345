// Pods of a `weft lab` attach the way a node's containers do: through weft's CNI plugin (the `weft` executable
// that `weft cni install` puts into a bin dir), which delegates to Debian's bridge and host-local; loopback is
// its own network, as runtimes add it. Each node gets what a real node has: a conf dir holding the installed
// conflist (pointed at this node's subnet.env, and at state and reservation dirs inside the lab's directory, so
// nothing outside the lab is written), and @weft/cni's runtime driver running the plugins inside the node's
// namespace with CNI_NETNS = the pod's /var/run/netns file.
// The lab's agents do not masquerade unless asked (LabOptions.ipMasq); then bridge must not either (flannel's
// rule would give it ipMasq=true, which hides pod addresses from other nodes), so the lab's conflist says so.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniRuntime, STANDARD_PLUGIN_DIRS, installCni, loadConfList, type ConfList } from '@weft/cni';
import type { LabNode, LabPod } from '@weft/lab';

/** Where a node's CNI files live: conf dir, the plugin's dataDir, host-local's dataDir, the result cache. */
export interface NodeCni {
  binDir: string;
  confDir: string;
  conflist: string;
  dataDir: string;
  ipamDir: string;
  cacheDir: string;
  /** CNI_PATH: the bin dir with the launcher, then the standard plugins' dir. */
  cniPath: string;
  subnetFile: string;
}

/** Thrown when the standard plugins are not installed (Debian's containernetworking-plugins). */
export class MissingPluginsError extends Error {
  override name = 'MissingPluginsError';
}

/** The per-pod record the lab keeps: which container ID and network the pod was added under. */
export interface PodAttachment {
  containerId: string;
  netns: string;
  result: Record<string, unknown>;
}

const LOOPBACK: ConfList = { name: 'lo', cniVersion: '1.0.0', plugins: [{ type: 'loopback' }] };

/**
 * Installs the plugin for `node` (launcher and conflist, via @weft/cni's installer) under `nodeDir`, and points
 * the conflist at the node's subnet.env and dirs. Throws MissingPluginsError when bridge, host-local or loopback
 * is missing.
 */
export function installNodeCni(
  nodeDir: string,
  weft: { node: string; script: string },
  ipMasq: boolean,
  searchDirs: readonly string[] = STANDARD_PLUGIN_DIRS,
): NodeCni {
  const binDir = join(nodeDir, 'cni-bin');
  const confDir = join(nodeDir, 'net.d');
  const r = installCni({ binDir, confDir, node: weft.node, weftScript: weft.script, searchDirs: [...searchDirs] });
  if (!r.pluginDir || r.missing.length)
    throw new MissingPluginsError(
      `the standard CNI plugins (${r.missing.join(', ')}) are not in ${searchDirs.join(' or ')}: apt-get install containernetworking-plugins`,
    );
  const cni: NodeCni = {
    binDir,
    confDir,
    conflist: r.conflist,
    dataDir: join(nodeDir, 'cni-state'),
    ipamDir: join(nodeDir, 'ipam'),
    cacheDir: join(nodeDir, 'cni-results'),
    cniPath: `${binDir}:${r.pluginDir}`,
    subnetFile: join(nodeDir, 'subnet.env'),
  };
  const list = JSON.parse(readFileSync(r.conflist, 'utf8')) as ConfList;
  const weftPlugin = list.plugins[0]!;
  weftPlugin.subnetFile = cni.subnetFile;
  weftPlugin.dataDir = cni.dataDir;
  weftPlugin.ipam = { dataDir: cni.ipamDir };
  if (!ipMasq) weftPlugin.delegate = { ...(weftPlugin.delegate as object), ipMasq: false };
  writeFileSync(r.conflist, `${JSON.stringify(list, null, 2)}\n`);
  return cni;
}

/** The runtime driver for `node`: plugins run inside its namespace. */
export function nodeRuntime(node: LabNode, cni: NodeCni, list: ConfList = loadConfList(cni.confDir)): CniRuntime {
  return new CniRuntime({
    list,
    cniPath: cni.cniPath,
    wrap: ['ip', 'netns', 'exec', node.ns.name],
    cacheDir: cni.cacheDir,
  });
}

/** The pod's addresses from a CNI result: the first one (IPv4 unless IPv6 only) and the IPv6 one, if any. */
function addressesOf(result: Record<string, unknown>, what: string): { ip: string; ip6?: string } {
  const ips = ((result.ips as { address?: string }[] | undefined) ?? []).map((i) => i.address?.split('/')[0] ?? '');
  const ip = ips[0];
  if (!ip) throw new Error(`${what}: the CNI result has no address: ${JSON.stringify(result)}`);
  const ip6 = ips.find((a) => a.includes(':'));
  return ip6 ? { ip, ip6 } : { ip };
}

/**
 * Creates pod namespaces on `node` and ADDs each through the node's CNI chain (then loopback); returns the pods
 * with the addresses host-local gave them. Throws with the failing plugin's output.
 */
export async function attachPods(
  node: LabNode,
  cni: NodeCni,
  count: number,
  netns: (local: string) => Promise<LabPod['ns']>,
  log: (m: string) => void,
): Promise<{ pod: LabPod; attachment: PodAttachment }[]> {
  const rt = nodeRuntime(node, cni);
  const lo = nodeRuntime(node, cni, LOOPBACK);
  const out: { pod: LabPod; attachment: PodAttachment }[] = [];
  for (let j = node.pods.length + 1; out.length < count; j++) {
    const name = `${node.name}p${j}`;
    const ns = await netns(name);
    const at = { containerId: name, netns: `/var/run/netns/${ns.name}` };
    const r = rt.add(at);
    if ('failed' in r) throw new Error(`CNI ADD of pod ${name}: ${r.failed} failed: ${r.run.stdout}${r.run.stderr}`);
    const l = lo.add({ ...at, ifName: 'lo' });
    if ('failed' in l)
      throw new Error(`CNI ADD of pod ${name} (lo): ${l.failed} failed: ${l.run.stdout}${l.run.stderr}`);
    const pod: LabPod = { name, ns, ...addressesOf(r.result, name) };
    const both = pod.ip6 && pod.ip6 !== pod.ip ? ` and ${pod.ip6}` : '';
    log(`pod ${name}: ${pod.ip}${both} on ${node.name} (CNI ADD: weft -> bridge + host-local)`);
    node.pods.push(pod);
    out.push({ pod, attachment: { ...at, result: r.result } });
  }
  return out;
}
