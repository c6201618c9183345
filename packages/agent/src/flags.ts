// The flag table of `weft agent` and the step that reads Go's flag syntax into commander.
//
// Design notes: flanneld parses with Go's `flag` package, so its unit files use `-name`, `--name=value`,
// `--name value` and booleans as `--name` or `--name=true|false`; every flag is also FLANNELD_<NAME> in the
// environment, used only when the command line does not set it. commander (which writes --help and checks
// values) knows neither single-dash long names nor `--bool=false`, so `toCommanderArgv` rewrites argv first:
// `-name` becomes `--name`, `--bool=false` becomes `--no-bool`, and unset FLANNELD_* variables become
// flags in front of the command line. One table lists every flag once, flanneld's and weft's own.
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from './config.ts';

export type FlagKind = 'string' | 'bool' | 'list';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** Placeholder shown in --help for a value. */
  readonly arg?: string;
  readonly help: string;
  /** Default shown in --help (the parser applies defaults itself). */
  readonly shown?: string;
  /** flanneld's flag (also FLANNELD_<NAME>) or weft's own. */
  readonly origin: 'flanneld' | 'weft';
  /** Set when weft recognises the flag but refuses it: the reason. */
  readonly refused?: string;
}

const f = (name: string, kind: FlagKind, help: string, more: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  kind,
  help,
  origin: 'flanneld',
  ...more,
});
const w = (name: string, kind: FlagKind, help: string, more: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  kind,
  help,
  origin: 'weft',
  ...more,
});
const KUBE = 'weft has no Kubernetes subnet manager; use --etcd-endpoints or --store';

/** Every flag of `weft agent`, flanneld's first (with flanneld's defaults and units), then weft's. */
export const AGENT_FLAGS: readonly FlagSpec[] = [
  f('etcd-endpoints', 'string', 'comma-separated etcd endpoints, http:// or https://', {
    arg: 'URLS',
    shown: 'none: the embedded store',
  }),
  f('etcd-prefix', 'string', 'etcd key prefix', { arg: 'PREFIX', shown: '/coreos.com/network' }),
  f('etcd-cafile', 'string', 'CA certificate file for etcd TLS', { arg: 'FILE' }),
  f('etcd-certfile', 'string', 'client certificate file for etcd TLS', { arg: 'FILE' }),
  f('etcd-keyfile', 'string', 'client key file for etcd TLS', { arg: 'FILE' }),
  f('etcd-username', 'string', 'etcd user name', { arg: 'NAME' }),
  f('etcd-password', 'string', 'etcd password', { arg: 'PASSWORD' }),
  f('iface', 'list', 'interface (name or address) for inter-host traffic; repeatable, first match wins', {
    arg: 'IFACE',
    shown: "the default route's",
  }),
  f(
    'iface-regex',
    'list',
    'regular expression on interface names and addresses; repeatable, used when no --iface matches',
    { arg: 'REGEX' },
  ),
  f('iface-can-reach', 'string', 'use the interface the route to this address leaves by', { arg: 'ADDR' }),
  f('public-ip', 'string', "address other nodes reach this one at (default: the interface's)", { arg: 'ADDR' }),
  f('public-ipv6', 'string', "IPv6 address other nodes reach this one at, with EnableIPv6 (default: the interface's)", {
    arg: 'ADDR',
  }),
  f('subnet-file', 'string', 'where FLANNEL_NETWORK, FLANNEL_SUBNET (and IPV6 pair), FLANNEL_MTU, FLANNEL_IPMASQ go', {
    arg: 'FILE',
    shown: '/run/flannel/subnet.env',
  }),
  f('net-config-path', 'string', 'net-conf.json to read (with etcd and no file: PREFIX/config from etcd)', {
    arg: 'FILE',
    shown: '/etc/weft/net-conf.json',
  }),
  f('subnet-lease-renew-margin', 'string', 'renew the lease this many MINUTES before it expires', {
    arg: 'MINUTES',
    shown: '60',
  }),
  f('ip-masq', 'bool', 'masquerade pod traffic leaving the cluster network', { shown: 'false' }),
  f('iptables-forward-rules', 'bool', 'accept forwarding to and from the cluster network', { shown: 'true' }),
  f('iptables-resync', 'string', 'seconds between re-assertions of the rules', { arg: 'SECONDS', shown: '5' }),
  f('healthz-ip', 'string', 'address of the /healthz and /readyz server', { arg: 'ADDR', shown: '0.0.0.0' }),
  f('healthz-port', 'string', 'port of the /healthz and /readyz server (0 disables)', { arg: 'PORT', shown: '0' }),
  f('kube-subnet-mgr', 'bool', 'refused', { refused: KUBE }),
  f('kube-api-url', 'string', 'refused', { arg: 'URL', refused: KUBE }),
  f('kubeconfig-file', 'string', 'refused', { arg: 'FILE', refused: KUBE }),
  f('kube-annotation-prefix', 'string', 'refused', { arg: 'PREFIX', refused: KUBE }),
  f('set-node-network-unavailable', 'bool', 'refused', { refused: KUBE }),
  f('use-multi-cluster-cidr', 'bool', 'refused', { refused: KUBE }),
  f('persistent-mac', 'bool', "accepted: weft's VTEP MAC always derives from the node name, so it survives reboots"),
  f('version', 'bool', 'print the version and exit (also -v without a value)'),
  f('v', 'string', "log verbosity as flanneld's -v=N: 0 is info, 1 or more is debug", { arg: 'N', shown: '0' }),
  w('store', 'string', 'embedded:PATH (one machine) or etcd://HOST:PORT[,HOST:PORT] (same as --etcd-endpoints)', {
    arg: 'STORE',
    shown: 'embedded:/var/lib/weft/leases.db',
  }),
  w('net-config', 'string', 'alias of --net-config-path (also --config)', { arg: 'FILE' }),
  w('config', 'string', 'alias of --net-config-path', { arg: 'FILE' }),
  w('metrics-ip', 'string', 'address of /metrics and /status', { arg: 'ADDR', shown: '127.0.0.1' }),
  w('metrics-port', 'string', 'port of /metrics and /status (0 disables)', { arg: 'PORT', shown: '9465' }),
  w('node-name', 'string', 'name of this node in logs and status', { arg: 'NAME', shown: 'the host name' }),
  w('subnet-lease-ttl', 'string', 'lease lifetime in SECONDS (flannel: 24 h, fixed)', {
    arg: 'SECONDS',
    shown: '86400',
  }),
  w('log-level', 'string', 'fatal, error, warn, info, debug or trace', { arg: 'LEVEL', shown: 'info' }),
  w('route-sync', 'string', 'where peer routes come from: lease or bgp', { arg: 'MODE', shown: 'lease' }),
  w('bgp-as', 'string', "this node's AS number", { arg: 'AS', shown: '64512' }),
  w('bgp-port', 'string', 'BGP port', { arg: 'PORT', shown: '179' }),
  w('bgp-peer', 'list', 'BGP peer as ADDR,AS; repeatable', { arg: 'ADDR,AS' }),
  w('bgp-router-id', 'string', 'BGP router ID: an IPv4 address, or hash (SHA-256 of the node name, as Calico)', {
    arg: 'ID',
    shown: 'the IPv4 address; IPv6 only: hash',
  }),
  w('route-reflector', 'list', 'route reflector address; repeatable', { arg: 'ADDR' }),
  w('pcap', 'string', 'record both sides of the encapsulation as pcapng (bounded)', { arg: 'FILE' }),
  w('max-peers', 'string', 'most peer subnets to route; past it the agent is not ready (0: every subnet)', {
    arg: 'N',
    shown: "0: the network's subnet count, at most 1048576",
  }),
  w('offload', 'bool', 'TUN offloads (IFF_VNET_HDR/TSO); --no-offload for plain reads', { shown: 'true' }),
  w(
    'super-packets',
    'bool',
    'hand super-packets to the kernel whole (Linux >= 6.17, probed); --no-super-packets to cut them in userspace',
    { shown: 'true' },
  ),
];

const BY_NAME = new Map(AGENT_FLAGS.map((s) => [s.name, s]));

/** FLANNELD_<NAME>: upper case, dashes as underscores (flanneld's rule). */
export function envName(flag: string): string {
  return `FLANNELD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Go's strconv.ParseBool. */
function goBool(flag: string, text: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw new ConfigError(`--${flag}`, `expected true or false, got "${text}"`);
}

function boolArg(name: string, value: boolean): string {
  return value ? `--${name}` : `--no-${name}`;
}

/** One command-line word in Go syntax as commander words; `seen` collects the flag names given. */
function rewriteWord(word: string, seen: Set<string>): string[] {
  if (!/^--?[^-]/.test(word)) return [word];
  const body = word.replace(/^--?/, '');
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  if (name === 'h' || name === 'help' || (name === 'v' && eq < 0)) return [word];
  const spec = BY_NAME.get(name) ?? BY_NAME.get(name.replace(/^no-/, ''));
  if (!spec) throw new ConfigError(`--${name}`, 'unknown flag (weft agent --help lists them)');
  seen.add(spec.name);
  if (spec.kind === 'bool' && eq >= 0) return [boolArg(name, goBool(name, body.slice(eq + 1)))];
  return [`--${body}`];
}

/** argv in Go's flag syntax plus FLANNELD_* variables → argv for commander. Throws ConfigError. */
export function toCommanderArgv(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(...rewriteWord(argv[i]!, seen));
    // `--name value`: the value is taken as it is, even when it starts with a dash.
    const spec = BY_NAME.get(argv[i]!.replace(/^--?/, ''));
    if (spec && spec.kind !== 'bool' && i + 1 < argv.length) out.push(argv[++i]!);
  }
  const fromEnv: string[] = [];
  for (const spec of AGENT_FLAGS) {
    const value = spec.origin === 'flanneld' ? env[envName(spec.name)] : undefined;
    if (!value || seen.has(spec.name)) continue;
    fromEnv.push(spec.kind === 'bool' ? boolArg(spec.name, goBool(spec.name, value)) : `--${spec.name}=${value}`);
  }
  return [...fromEnv, ...out];
}

function optionFor(spec: FlagSpec): Option[] {
  const env = spec.origin === 'flanneld' ? ` [${envName(spec.name)}]` : '';
  const shown = spec.shown === undefined ? '' : ` (default ${spec.shown})`;
  const help = spec.refused ? `not supported: ${spec.refused}` : `${spec.help}${shown}${env}`;
  if (spec.kind === 'bool') {
    const main = new Option(spec.name === 'version' ? '-v, --version' : `--${spec.name}`, help);
    return [main, new Option(`--no-${spec.name}`).hideHelp()];
  }
  const opt = new Option(`--${spec.name} <${spec.arg ?? 'VALUE'}>`, help);
  if (spec.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  return [opt];
}

/** The commander program of `weft agent`: it writes --help from AGENT_FLAGS. */
export function agentProgram(): Command {
  const program = new Command('weft agent')
    .description("the node agent: flanneld's flags and FLANNELD_* variables, beside weft's own")
    .usage('[flags]')
    .helpOption('-h, --help', 'this text')
    // Lower-case titles, as the other subcommands' usage texts write them.
    .configureHelp({ styleTitle: (title) => title.toLowerCase() })
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  for (const spec of AGENT_FLAGS) for (const opt of optionFor(spec)) program.addOption(opt);
  return program;
}

export type FlagValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What the command line asks for: help text, the version, or a run with these flag values (by flag name). */
export type ParsedCommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; values: FlagValues };

/** Parses `weft agent` argv and FLANNELD_* env. Throws ConfigError (field = the flag) on bad input. */
export function parseAgentFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommandLine {
  const program = agentProgram();
  if (argv.includes('-h') || argv.includes('--help') || argv.includes('-help'))
    return { kind: 'help', text: program.helpInformation() };
  if (argv.includes('-v') || argv.includes('--v')) return { kind: 'version' };
  const words = toCommanderArgv(argv, env);
  try {
    program.parse(words, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    const flag = /'(--?[\w-]+)/.exec(e.message)?.[1] ?? 'arguments';
    throw new ConfigError(flag, e.message.replace(/^error: /, ''));
  }
  const opts = program.opts();
  if (opts.version === true) return { kind: 'version' };
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const spec of AGENT_FLAGS) {
    const v = opts[camel(spec.name)];
    if (v === undefined) continue;
    if (spec.refused && v !== false) throw new ConfigError(`--${spec.name}`, `not supported: ${spec.refused}`);
    values[spec.name] = v;
  }
  return { kind: 'run', values };
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
