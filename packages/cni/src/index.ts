// @weft/cni: the `weft` CNI plugin (flannel's CNI plugin keys: subnetFile, dataDir, delegate, ipam) and its
// installer. The pure core (subnet.env parsing, the delegate configuration, results between spec versions) is
// apart from the process I/O (plugin.ts, install.ts). Depends on @weft/netaddr only: a plugin starts once per
// container, so it must not load the agent.
export { CniError, CniErrorCode, DelegateError } from './errors.ts';
export {
  SUPPORTED_VERSIONS,
  PREFERRED_VERSION,
  checkVersion,
  convertResult,
  versionInfo,
  type CniVersion,
  type CniResult,
} from './versions.ts';
export { parseFlannelSubnetEnv, type FlannelSubnetEnv } from './subnet-env.ts';
export {
  DEFAULT_DATA_DIR,
  DEFAULT_SUBNET_FILE,
  parseNetConf,
  delegateConfig,
  withCallKeys,
  type WeftNetConf,
} from './netconf.ts';
export { runCniPlugin, findPlugin, type PluginIo } from './plugin.ts';
export {
  installCni,
  launcherScript,
  weftConflist,
  findStandardPlugins,
  STANDARD_PLUGIN_DIRS,
  STANDARD_PLUGINS,
  CONFLIST_NAME,
  type InstallOptions,
  type InstallReport,
} from './install.ts';
export {
  CniRuntime,
  runPlugin,
  loadConfList,
  type CniAttachment,
  type CniRuntimeOptions,
  type ChainFailure,
  type ConfList,
  type PluginCall,
  type PluginCallOptions,
} from './runtime.ts';
