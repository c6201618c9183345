// The plugin as a runtime drives it: CNI_* in the environment, the network configuration on stdin, the result
// (or a CNI error object, with a non-zero exit) on stdout. The delegate (bridge) runs the same way as a child.
// Everything here is synchronous: one short-lived process per container, nothing to overlap.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, CniErrorCode, DelegateError } from './errors.ts';
import { delegateConfig, parseNetConf, withCallKeys, type WeftNetConf } from './netconf.ts';
import { parseFlannelSubnetEnv, type FlannelSubnetEnv } from './subnet-env.ts';
import { PREFERRED_VERSION, convertResult, versionHasCheck, versionInfo } from './versions.ts';

/** What the process gives the plugin; injected so tests and benchmarks can run it in-process. */
export interface PluginIo {
  env: NodeJS.ProcessEnv;
  readStdin(): string;
  writeStdout(text: string): void;
}

type Json = Record<string, unknown>;
const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION'];
// CNI spec: a container ID starts alphanumeric, then alphanumerics, '_', '.', '-' (it also names our state file).
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function need(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new CniError(CniErrorCode.InvalidEnvironment, `${name} is not set`);
  return v;
}

function containerId(env: NodeJS.ProcessEnv): string {
  const id = need(env, 'CNI_CONTAINERID');
  if (!CONTAINER_ID.test(id))
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `CNI_CONTAINERID ${JSON.stringify(id)} is not a valid container ID`,
    );
  return id;
}

/** Reads and parses subnet.env: missing is transient (the agent has no lease yet), malformed is not. */
function loadSubnetEnv(path: string): FlannelSubnetEnv {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message;
    throw new CniError(
      CniErrorCode.TryAgainLater,
      `${path} ${why}: is the weft agent (or flanneld) running on this node?`,
    );
  }
  return parseFlannelSubnetEnv(text, path);
}

/** The first executable named `type` in CNI_PATH's directories. */
export function findPlugin(type: string, cniPath: string): string {
  const dirs = cniPath.split(':').filter(Boolean);
  for (const dir of dirs) {
    const file = join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  throw new CniError(
    CniErrorCode.InvalidEnvironment,
    `CNI_PATH has no plugin "${type}"`,
    `searched: ${dirs.join(', ') || '(empty)'}`,
  );
}

/** Runs the delegate with this process's CNI_* environment and `command`; its parsed stdout on success. */
function invoke(file: string, command: string, env: NodeJS.ProcessEnv, config: Json): string {
  const r = spawnSync(file, [], {
    input: JSON.stringify(config),
    env: { ...env, CNI_COMMAND: command },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.error) throw new CniError(CniErrorCode.DelegateFailed, `${file}: ${r.error.message}`);
  if (r.status === 0) return r.stdout;
  let obj: Json | null = null;
  try {
    obj = JSON.parse(r.stdout) as Json;
  } catch {}
  if (obj && typeof obj.code === 'number' && typeof obj.msg === 'string') {
    throw new DelegateError(obj.code, obj.msg, typeof obj.details === 'string' ? obj.details : '');
  }
  throw new CniError(
    CniErrorCode.DelegateFailed,
    `${file} ${command} failed (exit ${r.status ?? r.signal})`,
    `${r.stderr}${r.stdout}`.trim(),
  );
}

function savedPath(conf: WeftNetConf, id: string): string {
  return join(conf.dataDir, id);
}

/** Writes what was delegated, atomically (temp file + rename), readable only by root as flannel's is. */
function save(conf: WeftNetConf, id: string, config: Json): void {
  try {
    mkdirSync(conf.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${savedPath(conf, id)}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(config), { mode: 0o600 });
    renameSync(tmp, savedPath(conf, id));
  } catch (e) {
    throw new CniError(
      CniErrorCode.IoFailure,
      `cannot save the delegate configuration in ${conf.dataDir}`,
      (e as Error).message,
    );
  }
}

/** What ADD delegated for this container, or null when nothing was saved (never added, or already deleted). */
function load(conf: WeftNetConf, id: string): Json | null {
  let text: string;
  try {
    text = readFileSync(savedPath(conf, id), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CniError(CniErrorCode.IoFailure, `cannot read ${savedPath(conf, id)}`, (e as Error).message);
  }
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new CniError(CniErrorCode.DecodeFailure, `${savedPath(conf, id)} is not JSON`);
  }
}

function add(conf: WeftNetConf, io: PluginIo): void {
  const id = containerId(io.env);
  need(io.env, 'CNI_NETNS');
  need(io.env, 'CNI_IFNAME');
  const delegated = delegateConfig(conf, loadSubnetEnv(conf.subnetFile));
  const file = findPlugin(delegated.type as string, need(io.env, 'CNI_PATH'));
  // Saved before the delegate runs: a runtime calls DEL after a failed ADD, and that DEL must reach the delegate.
  save(conf, id, delegated);
  const out = invoke(file, 'ADD', io.env, withCallKeys(delegated, conf));
  let result: unknown;
  try {
    result = JSON.parse(out);
  } catch {
    throw new CniError(CniErrorCode.DecodeFailure, `${file} ADD printed no JSON result`, out.slice(0, 500));
  }
  pinBridgeMac(delegated, result);
  io.writeStdout(`${JSON.stringify(convertResult(result, conf.cniVersion))}\n`);
}

/**
 * A Linux bridge whose MAC was never set takes the lowest MAC among its ports, so a later container's veth can change
 * cni0's MAC, and bridge's CHECK then refuses the earlier containers ("Bridge interface cni0 Mac doesn't match").
 * Debian's bridge plugin (1.1.1) pins it only on the ADD that gives cni0 its address, and not always then (seen
 * in the two-node CNI test: addr_assign_type 1 after the first ADD). Setting the MAC that the result reports makes
 * the kernel keep it (addr_assign_type 3): once per bridge, as sysfs tells. A failure here is reported on stderr,
 * not as a failed ADD.
 */
function pinBridgeMac(delegated: Json, result: unknown): void {
  if (delegated.type !== 'bridge') return;
  const name = typeof delegated.bridge === 'string' ? delegated.bridge : 'cni0';
  const interfaces = (result as { interfaces?: { name?: string; mac?: string; sandbox?: string }[] }).interfaces;
  const mac = interfaces?.find((i) => i.name === name && !i.sandbox)?.mac;
  if (!mac) return;
  try {
    if (readFileSync(`/sys/class/net/${name}/addr_assign_type`, 'utf8').trim() === '3') return;
  } catch {} // no sysfs view of this namespace: set it anyway
  const r = spawnSync('ip', ['link', 'set', 'dev', name, 'address', mac], { encoding: 'utf8' });
  if (r.status !== 0)
    process.stderr.write(`weft: could not keep ${name}'s MAC ${mac}: ${r.error?.message ?? r.stderr}`);
}

function del(conf: WeftNetConf, io: PluginIo): void {
  const id = containerId(io.env);
  const saved = load(conf, id);
  if (!saved) return; // never added, or deleted already: DEL is idempotent
  invoke(findPlugin(String(saved.type), need(io.env, 'CNI_PATH')), 'DEL', io.env, withCallKeys(saved, conf));
  rmSync(savedPath(conf, id), { force: true });
}

function check(conf: WeftNetConf, io: PluginIo): void {
  if (!versionHasCheck(conf.cniVersion))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `CHECK needs cniVersion 0.4.0 or later, config is ${conf.cniVersion}`,
    );
  const id = containerId(io.env);
  need(io.env, 'CNI_NETNS');
  need(io.env, 'CNI_IFNAME');
  if (conf.raw.prevResult === undefined) throw new CniError(CniErrorCode.InvalidConfig, 'CHECK needs "prevResult"');
  const saved = load(conf, id);
  if (!saved)
    throw new CniError(
      CniErrorCode.UnknownContainer,
      `container ${id} was not added to network ${conf.name} on this node`,
    );
  loadSubnetEnv(conf.subnetFile); // the node agent must still hold a lease
  invoke(findPlugin(String(saved.type), need(io.env, 'CNI_PATH')), 'CHECK', io.env, withCallKeys(saved, conf));
}

/**
 * Runs one CNI operation and returns the exit code: 0, or 1 after printing a CNI error object on stdout. Never
 * throws for a CNI failure; an unexpected exception is reported as an error object too.
 */
export function runCniPlugin(io: PluginIo): number {
  let version: string = PREFERRED_VERSION;
  try {
    const command = io.env.CNI_COMMAND ?? '';
    if (!COMMANDS.includes(command))
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        `CNI_COMMAND ${JSON.stringify(command)} is not ADD, DEL, CHECK or VERSION`,
      );
    if (command === 'VERSION') {
      io.writeStdout(`${JSON.stringify(versionInfo())}\n`);
      return 0;
    }
    const conf = parseNetConf(readStdin(io));
    version = conf.cniVersion;
    if (command === 'ADD') add(conf, io);
    else if (command === 'DEL') del(conf, io);
    else check(conf, io);
    return 0;
  } catch (e) {
    const err =
      e instanceof CniError
        ? e
        : new CniError(CniErrorCode.IoFailure, `weft: ${(e as Error).message}`, (e as Error).stack ?? '');
    io.writeStdout(`${JSON.stringify(err.toJSON(version))}\n`);
    return 1;
  }
}

function readStdin(io: PluginIo): string {
  try {
    return io.readStdin();
  } catch (e) {
    throw new CniError(
      CniErrorCode.IoFailure,
      'cannot read the network configuration from stdin',
      (e as Error).message,
    );
  }
}
