// `weft cni install`: a `weft` executable in the runtime's plugin directory and a conflist that chains weft and
// portmap, as kube-flannel chains flannel and portmap. The executable is a two-line launcher that runs this
// install's plugin script (the agent passes its one-file bundle) with the Node that ran the install, by absolute
// paths (a symlink would need Node on the runtime's PATH).
import { accessSync, constants, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where distributions put the standard plugins: the upstream tarball's place, then Debian's package's. */
export const STANDARD_PLUGIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];
/** The standard plugins a weft node uses: bridge and host-local (delegated), portmap (chained), loopback (runtimes). */
export const STANDARD_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];
export const CONFLIST_NAME = '10-weft.conflist';

export interface InstallOptions {
  binDir: string;
  confDir: string;
  /** The Node executable and the script the launcher runs with it (the plugin bundle, or a weft.mjs). */
  node: string;
  weftScript: string;
  /** Directories searched for the standard plugins after binDir; default STANDARD_PLUGIN_DIRS. */
  searchDirs?: string[];
}

export interface InstallReport {
  launcher: string;
  conflist: string;
  /** The first directory holding `bridge` (binDir first), or null when none does. */
  pluginDir: string | null;
  /** Standard plugins not found in pluginDir (all of them when pluginDir is null). */
  missing: string[];
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The launcher's text: runs `weftScript` with `node`, passing arguments and environment through. */
export function launcherScript(node: string, weftScript: string): string {
  return `#!/bin/sh\n# weft CNI plugin, written by \`weft cni install\`: runs the weft of that install.\nexec ${shellQuote(node)} ${shellQuote(weftScript)} "$@"\n`;
}

/** The conflist: kube-flannel's (name cbr0, hairpin, default gateway, portmap) with `"type": "weft"`. */
export function weftConflist(): object {
  return {
    name: 'cbr0',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'weft', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The first of `dirs` with an executable `bridge`, and which standard plugins it lacks. */
export function findStandardPlugins(dirs: readonly string[]): { dir: string | null; missing: string[] } {
  const dir = dirs.find((d) => isExecutable(join(d, 'bridge'))) ?? null;
  return { dir, missing: STANDARD_PLUGINS.filter((p) => !dir || !isExecutable(join(dir, p))) };
}

/** Writes `path` whole or not at all (temp file + rename): a runtime may read it at any moment. */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Installs the launcher and the conflist (directories created as needed). Throws the fs error when a write fails. */
export function installCni(o: InstallOptions): InstallReport {
  mkdirSync(o.binDir, { recursive: true });
  mkdirSync(o.confDir, { recursive: true });
  const launcher = join(o.binDir, 'weft');
  writeAtomic(launcher, launcherScript(o.node, o.weftScript), 0o755);
  const conflist = join(o.confDir, CONFLIST_NAME);
  writeAtomic(conflist, `${JSON.stringify(weftConflist(), null, 2)}\n`, 0o644);
  const { dir, missing } = findStandardPlugins([o.binDir, ...(o.searchDirs ?? STANDARD_PLUGIN_DIRS)]);
  return { launcher, conflist, pluginDir: dir, missing };
}
