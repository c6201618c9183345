// `weft` run by a container runtime (CNI_COMMAND set): the CNI plugin and nothing else. bin/weft.mjs loads this
// module instead of main.ts, so a plugin call loads @weft/cni and @weft/netaddr only.
import { readFileSync } from 'node:fs';
import { runCniPlugin } from '@weft/cni';

/** Runs one CNI operation on this process's environment, stdin and stdout; resolves with the exit code. */
export async function main(): Promise<number> {
  return runCniPlugin({
    env: process.env,
    readStdin: () => readFileSync(0, 'utf8'),
    writeStdout: (text) => {
      process.stdout.write(text);
    },
  });
}
