// The one way a `weft` subcommand reads its flags: a commander program (which writes --help from the options)
// with weft's conventions: lower-case titles, --help and -h exit 0 with the help on stdout, and any bad flag or
// value is one line on stderr and exit code 2.
import { Command, CommanderError } from 'commander';

/** A program for `weft NAME`, to which the caller adds options and help text. */
export function cliProgram(name: string, description: string): Command {
  return new Command(`weft ${name}`)
    .description(description)
    .helpOption('-h, --help', 'this text')
    .configureHelp({ styleTitle: (title) => title.toLowerCase() })
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (text) => process.stdout.write(text) });
}

/** What parsing gave: the options and operands, or an exit code (0 after --help, 2 after a bad flag, reported). */
export type CliParse = { ok: true; opts: Record<string, unknown>; args: string[] } | { ok: false; code: number };

/** Parses argv (without the command words) with `program`; prints help or the one-line error itself. */
export function parseCli(program: Command, argv: readonly string[]): CliParse {
  try {
    program.parse([...argv], { from: 'user' });
    return { ok: true, opts: program.opts(), args: program.args };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return { ok: false, code: 0 };
    process.stderr.write(`${program.name()}: ${e.message.replace(/^error: /, '')} (--help lists the flags)\n`);
    return { ok: false, code: 2 };
  }
}
