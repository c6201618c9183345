// Debian's podman (4.3, CNI network backend) on a lab node, for the podman test. Design notes:
// - Each node gets a "holder": `nsenter --net=NODE unshare --mount --propagation slave sh -c ...` ending in
//   `exec sleep`, a process of the lab's scope. Every podman command enters its mount and network namespaces
//   (`nsenter --target HOLDER --mount --net`), so all of a node's podman calls share one file-system view.
// - Why not `ip netns exec NODE podman`: it unmounts /sys and mounts a fresh sysfs for the node, which drops the
//   cgroup mounts under /sys/fs/cgroup, and runc then refuses to create any container ("no cgroup mount found in
//   mountinfo"). With the cgroups mounted back, its mount namespace still lives for one command only: the netns
//   bind mount `podman run -d` makes under /run/netns is not there for a later `podman rm`, which finds a plain
//   file ("unknown FS magic"); no CNI DEL completes, and the host-local reservation and libcni's cache entry stay
//   behind. The holder mounts the node's sysfs too (the plugins read /sys/class/net) after moving the cgroups.
// - In the holder's namespace /run and /var/lib are tmpfs of their own (nothing in them leaks to the machine and
//   they vanish with the holder): podman's netns files and runc's state (/run), libcni's result cache and the
//   weft/host-local state (/var/lib/cni) stay per node, and the node's agent's subnet.env directory is bind-mounted
//   at /run/flannel. The conflist `weft cni install` writes thus works unmodified, with its default paths.
// - Storage (vfs: no mounts to leak), configuration and temp dirs live under the node's dir; containers go under
//   a cgroup parent named after the node, removed at the end; podman's own rlimits (nofile 1048576, nproc
//   4194304) are beyond what runc may set without CAP_SYS_RESOURCE, so containers get small explicit ones.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, type LabScope, type Netns, type BackgroundProcess, type RunResult } from '@weft/lab';

export interface PodmanNode {
  name: string;
  ns: Netns;
  holder: BackgroundProcess;
  /** Storage, configuration, temp dirs and logs of this node's podman. */
  dir: string;
  /** cgroup parent of this node's containers (created by runc in every hierarchy; removed by `stopPodmanNode`). */
  cgroupParent: string;
  env: NodeJS.ProcessEnv;
}

export interface PodmanNodeOptions {
  /** Where `weft cni install` put the launcher, and its conflist directory. */
  cniBinDir: string;
  cniConfDir: string;
  /** Directories searched for the standard plugins after cniBinDir (/usr/lib/cni on Debian). */
  stdPluginDirs: string[];
  /** The directory holding the node agent's subnet.env (seen by the node as /run/flannel). */
  flannelDir: string;
  /** The CNI network podman attaches containers to by default (the conflist's name). */
  network: string;
}

const HOLDER_SCRIPT = [
  'set -eu',
  'cg=$(mktemp -d "$1/cgroup.XXXXXX")',
  'mount --rbind /sys/fs/cgroup "$cg"',
  'mount -t sysfs sysfs /sys',
  'mount --move "$cg" /sys/fs/cgroup',
  'rmdir "$cg"',
  'mount -t tmpfs -o mode=0755 weft-node-run /run',
  'mount -t tmpfs -o mode=0755 weft-node-varlib /var/lib',
  'mkdir /run/flannel',
  'mount --bind "$2" /run/flannel',
  'echo holder ready',
  'exec sleep 86400',
].join('\n');

const toml = (s: string): string => JSON.stringify(s);

function writeConfig(dir: string, o: PodmanNodeOptions): { conf: string; storage: string } {
  for (const d of ['storage', 'run', 'tmp', 'volumes', 'static']) mkdirSync(join(dir, d), { recursive: true });
  const conf = join(dir, 'containers.conf');
  const dirs = [o.cniBinDir, ...o.stdPluginDirs].map(toml).join(', ');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'cgroups = "no-conmon"',
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${dirs}]`,
      `network_config_dir = ${toml(o.cniConfDir)}`,
      `default_network = ${toml(o.network)}`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${toml(join(dir, 'events.log'))}`,
      `tmp_dir = ${toml(join(dir, 'tmp'))}`,
      `image_copy_tmp_dir = ${toml(join(dir, 'tmp'))}`,
      `volume_path = ${toml(join(dir, 'volumes'))}`,
      `static_dir = ${toml(join(dir, 'static'))}`,
      '',
    ].join('\n'),
  );
  const storage = join(dir, 'storage.conf');
  writeFileSync(
    storage,
    `[storage]\ndriver = "vfs"\ngraphroot = ${toml(join(dir, 'storage'))}\nrunroot = ${toml(join(dir, 'run'))}\n`,
  );
  return { conf, storage };
}

/**
 * Starts the holder for `ns` (a process of `scope`, so the scope's cleanup ends it) and writes podman's
 * configuration under `dir`. Resolves once the holder's mounts are in place; throws with its log if it exits.
 */
export async function startPodmanNode(
  scope: LabScope,
  name: string,
  ns: Netns,
  dir: string,
  o: PodmanNodeOptions,
): Promise<PodmanNode> {
  mkdirSync(dir, { recursive: true });
  const { conf, storage } = writeConfig(dir, o);
  const holder = scope.spawn(`podman-holder-${name}`, null, [
    'nsenter',
    `--net=/run/netns/${ns.name}`,
    'unshare',
    '--mount',
    '--propagation',
    'slave',
    'sh',
    '-c',
    HOLDER_SCRIPT,
    'holder',
    dir,
    o.flannelDir,
  ]);
  const deadline = Date.now() + 10_000;
  while (!holder.log().includes('holder ready')) {
    if (!holder.running || Date.now() > deadline)
      throw new Error(`podman holder of ${name} did not come up:\n${holder.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    NODE_OPTIONS: '',
    CONTAINERS_CONF: conf,
    CONTAINERS_STORAGE_CONF: storage,
  };
  return { name, ns, holder, dir, cgroupParent: `/weft-${scope.name}-${name}`, env };
}

/** Runs `podman ARGS` in the node's namespaces, bounded to `timeoutMs` (60 s); throws on failure unless allowed. */
export function podman(
  node: PodmanNode,
  args: readonly string[],
  opts: { allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(['nsenter', `--target=${node.holder.pid}`, '--mount', '--net', 'podman', ...args], {
    env: node.env,
    timeoutMs: opts.timeoutMs ?? 60_000,
    allowFailure: opts.allowFailure,
  });
}

/** `path` as the node sees it (inside the holder's mount namespace), readable from here. */
export function nodePath(node: PodmanNode, path: string): string {
  return join(`/proc/${node.holder.pid}/root`, path);
}

/** `podman run` flags every container of the node gets: its cgroup parent. */
export function runFlags(node: PodmanNode): string[] {
  return ['--cgroup-parent', node.cgroupParent];
}

/** Every cgroup hierarchy mounted here (cgroup v1 controllers and the v2 tree), from /proc/self/mountinfo. */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' - '))
    .filter(([, after]) => after?.startsWith('cgroup'))
    .map(([before]) => before!.split(' ')[4]!);
}

/**
 * Removes every container of the node (`podman rm -af`), stops the holder (its namespace, tmpfs and all go with
 * it) and removes the node's cgroup parent where it is empty. Never throws: it runs in `finally` blocks.
 */
export async function stopPodmanNode(node: PodmanNode): Promise<string[]> {
  const problems: string[] = [];
  if (node.holder.running) {
    const rm = await podman(node, ['rm', '-af', '-t', '0'], { allowFailure: true, timeoutMs: 60_000 });
    if (rm.code !== 0) problems.push(`podman rm -af on ${node.name}: ${rm.stderr.trim()}`);
    await node.holder.stop(3000);
  }
  for (const mount of cgroupMounts()) {
    try {
      rmdirSync(join(mount, node.cgroupParent));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') problems.push(`cgroup ${join(mount, node.cgroupParent)}: ${code}`);
    }
  }
  return problems;
}

/**
 * A root file system tarball for `podman import`, built offline from this machine's own programs (`programs`,
 * found on PATH, with the shared libraries `ldd` names for them), under `dir`. Returns the tarball's path.
 */
export function buildRootfsTar(dir: string, programs: readonly string[]): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(root, d), { recursive: true });
  for (const program of programs) {
    const which = spawnSync('sh', ['-c', 'command -v "$0"', program], { encoding: 'utf8' });
    const file = which.stdout.trim();
    if (which.status !== 0 || !file.startsWith('/')) throw new Error(`rootfs: ${program} is not on PATH`);
    copyFileSync(file, join(root, 'bin', program));
    const ldd = spawnSync('ldd', [file], { encoding: 'utf8' });
    for (const lib of ldd.stdout.match(/\/\S+/g) ?? []) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(root, lib)); // follows links: the loader and each library as a plain file
    }
  }
  const tar = join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rootfs: tar failed: ${r.stderr}`);
  return tar;
}
