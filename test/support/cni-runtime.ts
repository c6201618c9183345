// A container runtime's side of CNI, as libcni does it, for the CNI tests and the bench: each plugin of a conflist
// is run as its own process (found in CNI_PATH by its type) with CNI_* in the environment and its configuration
// (the list's name and cniVersion, plus prevResult) on stdin, in list order for ADD and CHECK and in reverse for
// DEL, the last ADD's result cached and handed back as prevResult. Plugins run inside the node's namespace.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '@weft/lab';

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON, or null when it is empty or not JSON. */
  json: Record<string, unknown> | null;
}

export interface Attachment {
  /** The container's namespace (its /var/run/netns path is CNI_NETNS). */
  ns: Netns;
  containerId: string;
  ifName?: string;
}

/**
 * Runs one plugin executable the way a runtime does: `ip netns exec NODE FILE` with the CNI_* variables (plus
 * `extraEnv`) and `config` as JSON on stdin (a string is sent as is). Bounded to 30 s.
 */
export function runPlugin(
  node: Netns,
  file: string,
  command: string,
  at: Attachment | null,
  cniPath: string,
  config: unknown,
  extraEnv: NodeJS.ProcessEnv = {},
): PluginRun {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_OPTIONS: '',
    ...extraEnv,
    CNI_COMMAND: command,
    CNI_PATH: cniPath,
  };
  if (at)
    Object.assign(env, {
      CNI_CONTAINERID: at.containerId,
      CNI_NETNS: `/var/run/netns/${at.ns.name}`,
      CNI_IFNAME: at.ifName ?? 'eth0',
    });
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  const r = spawnSync('ip', ['netns', 'exec', node.name, file], { input, env, encoding: 'utf8', timeout: 30_000 });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {}
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

export interface ConfList {
  name: string;
  cniVersion: string;
  plugins: Record<string, unknown>[];
}

/** libcni's runtime: a conflist run plugin by plugin, with the result cache kept per container. */
export class CniRuntime {
  private readonly cache = new Map<string, Record<string, unknown>>();

  constructor(
    readonly node: Netns,
    readonly cniPath: string,
    readonly list: ConfList,
    readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {}

  private pluginConfig(p: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
    return { ...p, name: this.list.name, cniVersion: this.list.cniVersion, ...(prevResult ? { prevResult } : {}) };
  }

  private exec(p: Record<string, unknown>, command: string, at: Attachment, prevResult: unknown): PluginRun {
    const file = join(
      this.cniPath.split(':').find((d) => existsExecutable(join(d, String(p.type)))) ?? '/nonexistent',
      String(p.type),
    );
    return runPlugin(this.node, file, command, at, this.cniPath, this.pluginConfig(p, prevResult), this.extraEnv);
  }

  /** ADD through the chain; the final result, or the failing plugin's run (with its type) on the first error. */
  add(at: Attachment): { result: Record<string, unknown> } | { failed: string; run: PluginRun } {
    let prev: Record<string, unknown> | undefined;
    for (const p of this.list.plugins) {
      const r = this.exec(p, 'ADD', at, prev);
      if (r.code !== 0 || !r.json) return { failed: String(p.type), run: r };
      prev = r.json;
    }
    this.cache.set(at.containerId, prev!);
    return { result: prev! };
  }

  /** CHECK through the chain with the cached result; null when every plugin passed. */
  check(at: Attachment): { failed: string; run: PluginRun } | null {
    for (const p of this.list.plugins) {
      const r = this.exec(p, 'CHECK', at, this.cache.get(at.containerId));
      if (r.code !== 0) return { failed: String(p.type), run: r };
    }
    return null;
  }

  /** DEL through the chain in reverse with the cached result (none after a first DEL); null when all passed. */
  del(at: Attachment): { failed: string; run: PluginRun } | null {
    const prev = this.cache.get(at.containerId);
    for (const p of [...this.list.plugins].reverse()) {
      const r = this.exec(p, 'DEL', at, prev);
      if (r.code !== 0) return { failed: String(p.type), run: r };
    }
    this.cache.delete(at.containerId);
    return null;
  }
}

function existsExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
