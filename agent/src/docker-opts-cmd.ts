// `weft docker-opts`: flannel's mk-docker-opts.sh (same single-dash flags, same output), plus --daemon-json.
// Reads subnet.env, writes Docker's options into the destination file (atomically: docker.service may read it
// at any moment), or to stdout with `-d -`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cliProgram, parseCli } from '@weft/agent';
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

interface DockerOptsFlags {
  subnetFile: string;
  destFile?: string;
  individual?: boolean;
  combined?: boolean;
  key: string;
  ipMasq: boolean;
  daemonJson?: boolean;
}

function dockerOptsProgram() {
  return cliProgram(
    'docker-opts',
    "Docker's network options (--bip, --mtu, --ip-masq) from this node's subnet.env, as flannel's mk-docker-opts.sh " +
      'writes them: DOCKER_OPT_* variables and the combined DOCKER_OPTS, for EnvironmentFile= in docker.service. ' +
      'Without -i or -c both forms are written. --ip-masq is the opposite of FLANNEL_IPMASQ.',
  )
    .usage('[-f SUBNET_FILE] [-d DEST_FILE|-] [-i] [-c] [-m] [-k KEY] [--daemon-json]')
    .option('-f, --subnet-file <file>', 'the subnet.env to read', DEFAULT_SUBNET_FILE)
    .option('-d, --dest-file <file>', `where to write (- for stdout; default ${DEFAULT_DOCKER_ENV_FILE})`)
    .option('-i, --individual', 'each option as its own variable (DOCKER_OPT_BIP, DOCKER_OPT_IPMASQ, DOCKER_OPT_MTU)')
    .option('-c, --combined', 'all options in one variable (named by -k)')
    .option('-k, --key <name>', 'the combined variable, e.g. DOCKER_NETWORK_OPTIONS', DEFAULT_COMBINED_KEY)
    .option('-m, --no-ip-masq', 'leave --ip-masq out')
    .option('--daemon-json', 'a daemon.json fragment {"bip", "mtu", "ip-masq"} instead (stdout unless -d)');
}

/** The `weft docker-opts` command: 0 when written, 2 for a usage error, 1 when subnet.env or the output fails. */
export async function dockerOptsCommand(argv: string[]): Promise<number> {
  const program = dockerOptsProgram();
  const parsed = parseCli(program, argv);
  if (!parsed.ok) return parsed.code;
  const flags = parsed.opts as unknown as DockerOptsFlags;
  const usageError = (msg: string) => {
    process.stderr.write(`weft docker-opts: ${msg} (--help lists the flags)\n`);
    return 2;
  };
  if (parsed.args.length) return usageError(`unexpected argument ${JSON.stringify(parsed.args[0])}`);
  if (!isEnvKey(flags.key)) return usageError(`-k ${JSON.stringify(flags.key)} is not a variable name`);
  try {
    const env = parseSubnetEnvForDocker(readSubnetFile(flags.subnetFile), flags.subnetFile);
    const opts = dockerNetworkOptions(env, flags.ipMasq);
    const both = !flags.individual && !flags.combined;
    const text = flags.daemonJson
      ? formatDaemonJson(opts)
      : formatDockerEnv(opts, {
          individual: both || !!flags.individual,
          combined: both || !!flags.combined,
          key: flags.key,
        });
    const dest = flags.destFile ?? (flags.daemonJson ? '-' : DEFAULT_DOCKER_ENV_FILE);
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
