// `weft docker-opts`: flannel's mk-docker-opts.sh (same single-dash flags, same output), plus --daemon-json.
// Reads subnet.env, writes Docker's options into the destination file (atomically: docker.service may read it
// at any moment), or to stdout with `-d -`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_COMBINED_KEY,
  DEFAULT_DOCKER_ENV_FILE,
  DEFAULT_SUBNET_FILE,
  DockerOptsError,
  dockerNetworkOptions,
  formatDaemonJson,
  formatDockerEnv,
  isEnvKey,
  parseSubnetEnvForDocker,
} from './docker-opts.ts';

const USAGE = `usage: weft docker-opts [-f SUBNET_FILE] [-d DEST_FILE|-] [-i] [-c] [-m] [-k KEY] [--daemon-json]

Docker's network options (--bip, --mtu, --ip-masq) from this node's subnet.env, as flannel's mk-docker-opts.sh
writes them: DOCKER_OPT_* variables and the combined DOCKER_OPTS, for EnvironmentFile= in docker.service.
Without -i or -c both forms are written. --ip-masq is the opposite of FLANNEL_IPMASQ: Docker masquerades only
when the agent does not.

options:
  -f, --subnet-file FILE   the subnet.env to read (default ${DEFAULT_SUBNET_FILE})
  -d, --dest-file FILE     where to write, - for stdout (default ${DEFAULT_DOCKER_ENV_FILE}; stdout with --daemon-json)
  -i, --individual         each option as its own variable (DOCKER_OPT_BIP, DOCKER_OPT_IPMASQ, DOCKER_OPT_MTU)
  -c, --combined           all options in one variable, named by -k
  -k, --key NAME           the combined variable (default ${DEFAULT_COMBINED_KEY}; e.g. DOCKER_NETWORK_OPTIONS)
  -m, --no-ip-masq         leave --ip-masq out
      --daemon-json        a daemon.json fragment {"bip", "mtu", "ip-masq"} instead
  -h, --help               this text
`;

// node:util's parseArgs, not the agent's commander program: docker.service runs this on every start, and loading
// @weft/agent would more than double its start-up time.
const OPTIONS = {
  'subnet-file': { type: 'string', short: 'f', default: DEFAULT_SUBNET_FILE },
  'dest-file': { type: 'string', short: 'd' },
  individual: { type: 'boolean', short: 'i' },
  combined: { type: 'boolean', short: 'c' },
  key: { type: 'string', short: 'k', default: DEFAULT_COMBINED_KEY },
  'no-ip-masq': { type: 'boolean', short: 'm' },
  'daemon-json': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(msg: string): number {
  process.stderr.write(`weft docker-opts: ${msg} (--help lists the flags)\n`);
  return 2;
}

/** The `weft docker-opts` command: 0 when written, 2 for a usage error, 1 when subnet.env or the output fails. */
export async function dockerOptsCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usageError((e as Error).message.split('\n')[0]!);
  }
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length) return usageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  if (!isEnvKey(flags.key)) return usageError(`-k ${JSON.stringify(flags.key)} is not a variable name`);
  try {
    const file = flags['subnet-file'];
    const env = parseSubnetEnvForDocker(readSubnetFile(file), file);
    const opts = dockerNetworkOptions(env, !flags['no-ip-masq']);
    const both = !flags.individual && !flags.combined;
    const text = flags['daemon-json']
      ? formatDaemonJson(opts)
      : formatDockerEnv(opts, {
          individual: both || !!flags.individual,
          combined: both || !!flags.combined,
          key: flags.key,
        });
    const dest = flags['dest-file'] ?? (flags['daemon-json'] ? '-' : DEFAULT_DOCKER_ENV_FILE);
    if (dest === '-') process.stdout.write(text);
    else writeAtomically(dest, text);
    return 0;
  } catch (e) {
    if (!(e instanceof DockerOptsError)) throw e;
    process.stderr.write(`weft docker-opts: ${e.message}\n`);
    return 1;
  }
}

function readSubnetFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DockerOptsError(
        file,
        'missing',
        `${file} does not exist: is the weft agent (or flanneld) running on this node?`,
      );
    throw new DockerOptsError(file, 'unreadable', `${file}: ${(e as Error).message}`);
  }
}

/** Temp file + rename, so a reader never sees half a file; the directory is created when missing. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    throw new DockerOptsError(file, 'unwritable', `cannot write ${file}: ${(e as Error).message}`);
  }
}
