// Reading a capture back through tshark, one row of fields per frame: how the tests check the wire against an
// implementation nobody here wrote.
import { run } from './exec.ts';

export interface TsharkFieldsOptions {
  /** `-d` decode-as rules, e.g. `udp.port==8472,vxlan`. */
  decodeAs?: readonly string[];
  /** `-o` preferences, e.g. `udp.check_checksum:TRUE`. */
  prefs?: readonly string[];
  /** A display filter (`-Y`). */
  filter?: string;
  /** Occurrence of repeated fields (`-E occurrence=`): `f` first (default), `l` last, `a` all. */
  occurrence?: 'f' | 'l' | 'a';
  timeoutMs?: number;
}

/** Checksum verification on for UDP and TCP, so `*.checksum.status` reads 1 (good) or 0 (bad), never 2. */
export const TSHARK_CHECK_CHECKSUMS = ['udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] as const;

/** tshark's checksum status for a verified good checksum. */
export const TSHARK_CHECKSUM_GOOD = '1';

/**
 * Runs `tshark -r pcap -T fields` with `fields` and returns one array per frame, the fields in the order given
 * ('' where a frame lacks one). Throws CommandError when tshark fails.
 */
export async function tsharkFields(
  pcap: string,
  fields: readonly string[],
  opts: TsharkFieldsOptions = {},
): Promise<string[][]> {
  const argv = ['tshark', '-r', pcap];
  for (const d of opts.decodeAs ?? []) argv.push('-d', d);
  for (const o of opts.prefs ?? []) argv.push('-o', o);
  if (opts.filter) argv.push('-Y', opts.filter);
  argv.push('-T', 'fields', '-E', `occurrence=${opts.occurrence ?? 'f'}`);
  for (const f of fields) argv.push('-e', f);
  const r = await run(argv, { timeoutMs: opts.timeoutMs ?? 60_000 });
  return r.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
}
