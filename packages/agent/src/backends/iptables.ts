// The FirewallProgrammer on a real node: iptables, which on Debian is the nf_tables backend (iptables-nft).
//
// Why iptables and not a table of weft's own in nftables: with nftables, every base chain on a hook gives its
// own verdict and a drop anywhere is final, so an `accept` in a weft table cannot undo Docker's FORWARD policy
// DROP, which lives in iptables' filter table; the forwarding rules only work as rules in that same FORWARD
// chain. iptables is also where operators look for flanneld's rules. Ownership stays clean: weft's rules live
// in its own chains, rewritten whole by one iptables-restore --noflush transaction (declaring a user chain
// there empties it), reached by one jump each that is checked (-C) before it is appended.
//
// A resync (every --iptables-resync seconds) that finds nothing changed costs one `iptables-save -t TABLE` per
// table: after each full apply we keep iptables' own rendering of our lines (our chains, their rules, the jumps
// to them), and a later apply of the same rule set rewrites only when that rendering differs. Comparing with
// iptables' output rather than our input spares us from re-implementing how it normalises rules; a write (a
// restore, which on nf_tables commits a new ruleset generation) then only happens when something was lost.
// On nf_tables even that read is skipped while the namespace's ruleset generation (ruleset-generation.ts, read over
// netlink without a fork) equals the one seen just before our rules were last verified: nothing changed anywhere.
import type { Logger } from 'pino';
import type { FirewallRuleset, OwnChain } from '../firewall.ts';
import type { FirewallProgrammer } from '../ports.ts';
import { nftGeneration } from '@weft/tunnel';
import { CommandShell } from './command-shell.ts';
import { type GenerationReader, RulesetGeneration } from './ruleset-generation.ts';

/** Bound on removing duplicate jumps (someone else's copies of ours, an older agent's). */
const MAX_JUMP_DELETES = 16;

/** An iptables command failed; `command` is what was run, `stderr` why. Not retried here: the resync retries. */
export class FirewallCommandError extends Error {
  override name = 'FirewallCommandError';
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command} failed: ${stderr.trim()}`);
  }
}

/**
 * Runs argv (`iptables ...`, `iptables-restore ...`) with `input` on stdin; resolves with its output (a string or
 * an object with `stdout`), rejects when it exits non-zero.
 */
export type CommandRunner = (argv: readonly string[], input: string) => Promise<unknown>;

const outputOf = (r: unknown): string =>
  typeof r === 'string' ? r : String((r as { stdout?: unknown } | null)?.stdout ?? '');

/** The lines of `iptables-save` output that are ours: our chains' declarations and rules, and jumps to them. */
export function ownLines(saved: string, ruleset: FirewallRuleset): string {
  const names = ruleset.map((c) => c.chain);
  const ours = (line: string) =>
    names.some((n) => line.startsWith(`:${n} `) || line.startsWith(`-A ${n} `) || line.endsWith(`-j ${n}`));
  return saved.split('\n').filter(ours).join('\n');
}

/** The default runner: one long-lived shell (command-shell.ts), so a resync does not fork the agent itself. */
function shellRunner(): CommandRunner {
  const shell = new CommandShell();
  return (argv, input) => shell.run(argv, input);
}

const ownGeneration: GenerationReader = () => nftGeneration();

const ok = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );
const jumpArgs = (c: OwnChain) => [c.from, ...c.jump, '-j', c.chain];

/** iptables-restore input that (re)creates each chain with exactly its rules. */
export function restoreText(ruleset: FirewallRuleset): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const chains = ruleset.filter((c) => c.table === table);
    if (!chains.length) continue;
    out.push(`*${table}`, ...chains.map((c) => `:${c.chain} - [0:0]`));
    for (const c of chains) for (const r of c.rules) out.push(`-A ${c.chain} ${r.map(quote).join(' ')}`);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

function quote(arg: string): string {
  return /^[\w./:!-]+$/.test(arg) ? arg : `"${arg}"`;
}

/**
 * The real firewall port; needs CAP_NET_ADMIN and acts on the caller's network namespace. `run` executes the
 * commands (default: through one long-lived shell; tests pass one that runs them inside a namespace).
 * `generation` reads the nf_tables ruleset generation of the namespace `run` acts on; by default the agent's own
 * when `run` is the default, none otherwise (a generation of another namespace would prove nothing). Without one,
 * or on iptables-legacy, each resync reads the rules back; WEFT_NFT_GENERATION=off in the environment asks for
 * that too (a kernel whose generation misbehaves; before/after measurements).
 */
export function iptablesFirewall(
  run?: CommandRunner,
  generation: GenerationReader | undefined = run || process.env.WEFT_NFT_GENERATION === 'off'
    ? undefined
    : ownGeneration,
): FirewallProgrammer {
  const exec = run ?? shellRunner();
  const iptables = async (args: readonly string[], input = '', cmd = 'iptables'): Promise<string> => {
    try {
      return outputOf(await exec([cmd, ...(cmd === 'iptables-save' ? [] : ['-w', '5']), ...args], input));
    } catch (e) {
      throw new FirewallCommandError(`${cmd} ${args.join(' ')}`, (e as { stderr?: string }).stderr ?? String(e));
    }
  };
  /** Our lines as iptables renders them now, table by table (one iptables-save per table). */
  const current = async (ruleset: FirewallRuleset): Promise<string> => {
    const tables = [...new Set(ruleset.map((c) => c.table))];
    const parts: string[] = [];
    for (const t of tables) parts.push(`*${t}\n${ownLines(await iptables(['-t', t], '', 'iptables-save'), ruleset)}`);
    return parts.join('\n');
  };
  const generations = new RulesetGeneration(generation, async () =>
    outputOf(await exec(['iptables', '--version'], '')),
  );
  // What the last full apply wrote (its restore text), how iptables rendered it afterwards, and the ruleset
  // generation read just before that rendering was last found intact (null: none covers iptables' rules).
  let last: { ruleset: FirewallRuleset; text: string; rendered: string; generation: number | null } | null = null;
  return {
    async apply(log: Logger, ruleset: FirewallRuleset): Promise<void> {
      if (!ruleset.length) return;
      // the resync passes the same rule set each time: its text is not built again (an idle agent's allocations)
      const text = last?.ruleset === ruleset ? last.text : restoreText(ruleset);
      if (last?.text === text) {
        const generation = await generations.now(log);
        if (generation !== null && generation === last.generation) return; // no write anywhere since verified
        if ((await current(ruleset)) === last.rendered) {
          last.generation = generation;
          return; // something else changed, not ours
        }
      }
      last = null;
      await iptables(['--noflush'], text, 'iptables-restore');
      for (const c of ruleset) {
        if (await ok(iptables(['-t', c.table, '-C', ...jumpArgs(c)]))) continue;
        await iptables(['-t', c.table, '-A', ...jumpArgs(c)]);
        log.info({ cmd: `iptables -t ${c.table} -A ${jumpArgs(c).join(' ')}`, rules: c.rules.length }, 'iptables');
      }
      const generation = await generations.now(log);
      last = { ruleset, text, rendered: await current(ruleset), generation };
    },
    async remove(log: Logger, ruleset: FirewallRuleset): Promise<void> {
      last = null;
      for (const c of ruleset) {
        for (let i = 0; i < MAX_JUMP_DELETES; i++)
          if (!(await ok(iptables(['-t', c.table, '-D', ...jumpArgs(c)])))) break;
        await ok(iptables(['-t', c.table, '-F', c.chain]));
        await ok(iptables(['-t', c.table, '-X', c.chain]));
        log.info({ table: c.table, chain: c.chain }, 'iptables: chain removed');
      }
    },
  };
}
