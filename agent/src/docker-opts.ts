// Docker's network options from the node's subnet.env, the way flannel's dist/mk-docker-opts.sh derives them:
//   --bip=FLANNEL_SUBNET (the lease's first address with its prefix length: docker0's address)
//   --mtu=FLANNEL_MTU
//   --ip-masq=the opposite of FLANNEL_IPMASQ (Docker masquerades only when the agent does not; -m leaves it out)
// written as shell/systemd variables: one DOCKER_OPT_* per option (BIP, IPMASQ, MTU: the order `set` lists them
// in flannel's script) and the combined variable (DOCKER_OPTS by default, e.g. DOCKER_NETWORK_OPTIONS), whose
// value starts with a blank as flannel's does. Also as a daemon.json fragment ({"bip", "mtu", "ip-masq"}).
//
// Deliberate differences from the script: a missing or malformed subnet.env is an error naming the file (the
// script writes empty options and Docker starts on its default bridge); subnet.env is parsed strictly by the
// CNI plugin's parser, not sourced as shell; the combined variable does not inherit a value from the environment
// (under systemd, EnvironmentFile= hands the previous run's DOCKER_OPTS to ExecStartPre, and the script then
// repeats every option). IPv6 keys are ignored, as the script ignores them.
import { CniError, parseFlannelSubnetEnv, type FlannelSubnetEnv } from '@weft/cni';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DOCKER_ENV_FILE = '/run/docker_opts.env';
export const DEFAULT_COMBINED_KEY = 'DOCKER_OPTS';

/** Why no options were written: subnet.env absent (no agent yet), unreadable or malformed, or the output failed. */
export type DockerOptsFailure = 'missing' | 'unreadable' | 'malformed' | 'unwritable';

/** subnet.env could not be turned into Docker options; the message names the file and, if malformed, the key. */
export class DockerOptsError extends Error {
  override name = 'DockerOptsError';

  constructor(
    readonly file: string,
    readonly failure: DockerOptsFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Docker's bridge settings for this node; `ipMasq` is null when left out (-m). */
export interface DockerNetworkOptions {
  /** docker0's address with the lease's prefix length, e.g. `10.244.1.1/24`. */
  bip: string;
  mtu: number;
  ipMasq: boolean | null;
}

/** How the variables are written: which forms, and the combined variable's name. */
export interface DockerEnvFormat {
  individual: boolean;
  combined: boolean;
  key: string;
}

/** A name the shell and systemd's EnvironmentFile= accept as a variable. */
export function isEnvKey(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key);
}

/**
 * Parses subnet.env text (`file` names it in messages). Throws DockerOptsError('malformed') naming the key when
 * one is missing or does not parse, or when the file holds no IPv4 subnet.
 */
export function parseSubnetEnvForDocker(text: string, file: string): FlannelSubnetEnv {
  try {
    const env = parseFlannelSubnetEnv(text, file);
    if (!env.subnets.some((s) => !s.includes(':')))
      throw new DockerOptsError(file, 'malformed', `${file}: no IPv4 FLANNEL_SUBNET (Docker's --bip is IPv4)`);
    return env;
  } catch (e) {
    if (e instanceof CniError) throw new DockerOptsError(file, 'malformed', e.message);
    throw e;
  }
}

/** The options from parsed subnet.env; `withIpMasq` false is flannel's -m. */
export function dockerNetworkOptions(env: FlannelSubnetEnv, withIpMasq: boolean): DockerNetworkOptions {
  const i = env.subnets.findIndex((s) => !s.includes(':'));
  if (i < 0) throw new RangeError('subnet.env holds no IPv4 subnet');
  const prefixLen = env.subnets[i]!.split('/')[1];
  return { bip: `${env.gateways[i]}/${prefixLen}`, mtu: env.mtu, ipMasq: withIpMasq ? !env.ipMasq : null };
}

/** `DOCKER_OPT_BIP="--bip=..."` lines and/or `KEY=" --bip=... --ip-masq=... --mtu=..."`, newline-terminated. */
export function formatDockerEnv(opts: DockerNetworkOptions, format: DockerEnvFormat): string {
  const each: [string, string][] = [['DOCKER_OPT_BIP', `--bip=${opts.bip}`]];
  if (opts.ipMasq !== null) each.push(['DOCKER_OPT_IPMASQ', `--ip-masq=${opts.ipMasq}`]);
  each.push(['DOCKER_OPT_MTU', `--mtu=${opts.mtu}`]);
  const lines = format.individual ? each.map(([k, v]) => `${k}="${v}"`) : [];
  if (format.combined) lines.push(`${format.key}="${each.map(([, v]) => ` ${v}`).join('')}"`);
  return lines.map((l) => `${l}\n`).join('');
}

/** The same settings as keys of Docker's daemon.json, pretty-printed, newline-terminated. */
export function formatDaemonJson(opts: DockerNetworkOptions): string {
  const json: Record<string, string | number | boolean> = { bip: opts.bip, mtu: opts.mtu };
  if (opts.ipMasq !== null) json['ip-masq'] = opts.ipMasq;
  return `${JSON.stringify(json, null, 2)}\n`;
}
