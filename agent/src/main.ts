// `weft SUBCOMMAND ...`: each subcommand lives in its own module, loaded only when used.
const USAGE = `usage: weft <command> [options]

commands:
  agent [flags]        the node agent (flanneld-like): weft agent --help
  status [--metrics-port P] [--json]   lease, peers and routes of the agent running here
  lab up|exec|status|down   network-namespace labs of weft agents
  explain HEX|FILE     decode packets layer by layer, with RFC sections (--json for machines)
  trace SRC_POD DST_POD [--lab NAME]   one ping between lab pods, hop by hop (routes, counters, captures)
  cni install [--bin-dir D] [--conf-dir D]   install weft as the node's CNI plugin (runs as one with CNI_COMMAND set)
  cni add|check|del --netns P --container-id I   run the node's CNI chain for one container, as a runtime does
  docker-opts [-f FILE] [-d FILE] [-i] [-c] [-m] [-k KEY] [--daemon-json]   Docker's --bip/--mtu/--ip-masq from subnet.env
  help                 this text
  version              print the version (also --version)
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  lab: async () => (await import('./lab/lab-cli.ts')).labCommand,
  agent: async () => (await import('./agent-cmd.ts')).agentCommand,
  status: async () => (await import('./status-cmd.ts')).statusCommand,
  explain: async () => (await import('./explain-cli.ts')).explainCommand,
  trace: async () => (await import('./trace-cmd.ts')).traceCommand,
  cni: async () => async (argv: string[]) =>
    ['add', 'check', 'del'].includes(argv[0] ?? '')
      ? (await import('./cni-runtime-cmd.ts')).cniRuntimeCommand(argv)
      : (await import('./cni-cmd.ts')).cniCommand(argv),
  'docker-opts': async () => (await import('./docker-opts-cmd.ts')).dockerOptsCommand,
  version: async () => async () => {
    console.log('weft 0.1.0');
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name === '--version' || name === '-V' ? 'version' : name];
  if (!load) {
    process.stderr.write(`weft: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}
