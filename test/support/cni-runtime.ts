// The tests' face of @weft/cni's runtime driver (the one `weft lab` and the compose nodes use): containers and
// nodes named by their lab namespaces. Plugins run inside the node's namespace (`ip netns exec NODE`), and a
// container's CNI_NETNS is its /var/run/netns file.
import type { Netns } from '@weft/lab';
import {
  CniRuntime as Driver,
  runPlugin as runPluginFile,
  type ChainFailure,
  type CniAttachment,
  type ConfList,
  type PluginCall,
} from '@weft/cni';

export type { ConfList };
export type PluginRun = PluginCall;

export interface Attachment {
  /** The container's namespace (its /var/run/netns path is CNI_NETNS). */
  ns: Netns;
  containerId: string;
  ifName?: string;
}

const inNode = (node: Netns) => ['ip', 'netns', 'exec', node.name];
const toCni = (at: Attachment): CniAttachment => ({
  containerId: at.containerId,
  netns: `/var/run/netns/${at.ns.name}`,
  ifName: at.ifName,
});

/** Runs one plugin executable inside `node` the way a runtime does (see @weft/cni runPlugin). */
export function runPlugin(
  node: Netns,
  file: string,
  command: string,
  at: Attachment | null,
  cniPath: string,
  config: unknown,
  extraEnv: NodeJS.ProcessEnv = {},
): PluginRun {
  return runPluginFile(file, command, at ? toCni(at) : null, cniPath, config, { env: extraEnv, wrap: inNode(node) });
}

/** libcni's runtime on one lab node (see @weft/cni CniRuntime). */
export class CniRuntime {
  private readonly driver: Driver;

  constructor(
    readonly node: Netns,
    readonly cniPath: string,
    readonly list: ConfList,
    readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.driver = new Driver({ list, cniPath, env: extraEnv, wrap: inNode(node) });
  }

  add(at: Attachment): { result: Record<string, unknown> } | ChainFailure {
    return this.driver.add(toCni(at));
  }

  check(at: Attachment): ChainFailure | null {
    return this.driver.check(toCni(at));
  }

  del(at: Attachment): ChainFailure | null {
    return this.driver.del(toCni(at));
  }
}
