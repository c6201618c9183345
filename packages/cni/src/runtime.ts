// A container runtime's side of CNI, as libcni does it: each plugin of a conflist runs as its own process (found in
// CNI_PATH by its type) with CNI_* in its environment and its configuration (the list's name and cniVersion, plus
// prevResult) on stdin; in list order for ADD and CHECK, in reverse for DEL; the last ADD's result is kept and
// handed back as prevResult. One driver for everything in this repository that attaches a container: `weft lab`,
// `weft cni add|check|del` (the compose nodes), the CNI tests and the bench.
// Design notes: calls are synchronous (a plugin call is one short process; nothing to overlap). `wrap` is an argv
// prefix such as `ip netns exec NODE`, so plugins run in the node's namespace without this process moving there.
// With `cacheDir` results also survive this process (libcni keeps them in /var/lib/cni/results), so a later
// `weft cni del` can hand DEL the result of an earlier `weft cni add`.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One plugin process: its exit code and output, stdout parsed as JSON when it is JSON. */
export interface PluginCall {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON, or null when it is empty or not JSON. */
  json: Record<string, unknown> | null;
}

/** The container side of a call: CNI_CONTAINERID, CNI_NETNS (a path) and CNI_IFNAME (default eth0). */
export interface CniAttachment {
  containerId: string;
  netns: string;
  ifName?: string;
}

export interface ConfList {
  name: string;
  cniVersion: string;
  plugins: Record<string, unknown>[];
}

export interface PluginCallOptions {
  /** Extra environment (the base is PATH and an empty NODE_OPTIONS, never this process's whole environment). */
  env?: NodeJS.ProcessEnv;
  /** argv run before the plugin, e.g. ['ip', 'netns', 'exec', 'NODE'] (default none). */
  wrap?: readonly string[];
}

/** A failed step of a chain: the plugin type and its process. */
export interface ChainFailure {
  failed: string;
  run: PluginCall;
}

/** Runs one plugin executable as a runtime does; `config` goes to stdin as JSON (a string is sent as is). 30 s bound. */
export function runPlugin(
  file: string,
  command: string,
  at: CniAttachment | null,
  cniPath: string,
  config: unknown,
  opts: PluginCallOptions = {},
): PluginCall {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_OPTIONS: '',
    ...opts.env,
    CNI_COMMAND: command,
    CNI_PATH: cniPath,
  };
  if (at) Object.assign(env, { CNI_CONTAINERID: at.containerId, CNI_NETNS: at.netns, CNI_IFNAME: at.ifName ?? 'eth0' });
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  const argv = [...(opts.wrap ?? []), file];
  const r = spawnSync(argv[0]!, argv.slice(1), { input, env, encoding: 'utf8', timeout: 30_000 });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {}
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}`,
    json,
  };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The network configuration a runtime would use from `confDir`: the first `.conflist` in name order (libcni's
 * rule). Throws when there is none or it is not a conflist.
 */
export function loadConfList(confDir: string): ConfList {
  const file = readdirSync(confDir)
    .filter((f) => f.endsWith('.conflist'))
    .sort()[0];
  if (!file) throw new Error(`no .conflist in ${confDir} (weft cni install writes one)`);
  const list = JSON.parse(readFileSync(join(confDir, file), 'utf8')) as ConfList;
  if (typeof list.name !== 'string' || !Array.isArray(list.plugins))
    throw new Error(`${join(confDir, file)}: not a conflist (needs name and plugins)`);
  return list;
}

export interface CniRuntimeOptions {
  list: ConfList;
  /** Directories searched for plugins, ':'-separated, as CNI_PATH. */
  cniPath: string;
  env?: NodeJS.ProcessEnv;
  wrap?: readonly string[];
  /** Where results are kept between processes (default: memory only). */
  cacheDir?: string;
}

/** libcni's part of a runtime: a conflist run plugin by plugin, with a result cache per container. */
export class CniRuntime {
  private readonly cache = new Map<string, Record<string, unknown>>();

  constructor(readonly opts: CniRuntimeOptions) {}

  private key(at: CniAttachment): string {
    return `${this.opts.list.name}-${at.containerId}-${at.ifName ?? 'eth0'}`;
  }

  private cached(at: CniAttachment): Record<string, unknown> | undefined {
    const hit = this.cache.get(this.key(at));
    if (hit || !this.opts.cacheDir) return hit;
    try {
      return JSON.parse(readFileSync(join(this.opts.cacheDir, this.key(at)), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  private remember(at: CniAttachment, result: Record<string, unknown> | null): void {
    const file = this.opts.cacheDir ? join(this.opts.cacheDir, this.key(at)) : null;
    if (result) {
      this.cache.set(this.key(at), result);
      if (file) {
        mkdirSync(this.opts.cacheDir!, { recursive: true, mode: 0o700 });
        writeFileSync(file, JSON.stringify(result), { mode: 0o600 });
      }
    } else {
      this.cache.delete(this.key(at));
      if (file) rmSync(file, { force: true });
    }
  }

  /** The stdin of plugin `p`: the plugin's keys with the list's name and version, and prevResult when there is one. */
  pluginConfig(p: Record<string, unknown>, prevResult?: unknown): Record<string, unknown> {
    const { name, cniVersion } = this.opts.list;
    return { ...p, name, cniVersion, ...(prevResult ? { prevResult } : {}) };
  }

  private exec(p: Record<string, unknown>, command: string, at: CniAttachment, prevResult: unknown): PluginCall {
    const type = String(p.type);
    const dir = this.opts.cniPath.split(':').find((d) => d && isExecutable(join(d, type)));
    if (!dir) return { code: -1, stdout: '', stderr: `no plugin "${type}" in ${this.opts.cniPath}`, json: null };
    return runPlugin(join(dir, type), command, at, this.opts.cniPath, this.pluginConfig(p, prevResult), this.opts);
  }

  /** ADD through the chain; the final result, or the failing plugin's run (with its type) on the first error. */
  add(at: CniAttachment): { result: Record<string, unknown> } | ChainFailure {
    let prev: Record<string, unknown> | undefined;
    for (const p of this.opts.list.plugins) {
      const r = this.exec(p, 'ADD', at, prev);
      if (r.code !== 0 || !r.json) return { failed: String(p.type), run: r };
      prev = r.json;
    }
    this.remember(at, prev!);
    return { result: prev! };
  }

  /** CHECK through the chain with the cached result; null when every plugin passed. */
  check(at: CniAttachment): ChainFailure | null {
    const prev = this.cached(at);
    for (const p of this.opts.list.plugins) {
      const r = this.exec(p, 'CHECK', at, prev);
      if (r.code !== 0) return { failed: String(p.type), run: r };
    }
    return null;
  }

  /** DEL through the chain in reverse with the cached result (none after a first DEL); null when all passed. */
  del(at: CniAttachment): ChainFailure | null {
    const prev = this.cached(at);
    for (const p of [...this.opts.list.plugins].reverse()) {
      const r = this.exec(p, 'DEL', at, prev);
      if (r.code !== 0) return { failed: String(p.type), run: r };
    }
    this.remember(at, null);
    return null;
  }
}
