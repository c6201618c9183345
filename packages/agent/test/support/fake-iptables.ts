// An in-memory iptables for the firewall port's tests: the commands backends/iptables.ts runs (save, restore
// --noflush, -C/-A/-D/-F/-X, --version) on a table of rule lines, and a ruleset generation that every write bumps,
// as nf_tables does. `ran` records each command's first words; `lose` drops lines as an outside flush would.
import type { CommandRunner } from '../../src/backends/iptables.ts';

export class FakeIptables {
  /** Table name to its lines as iptables-save prints them (declarations, then rules). */
  readonly tables = new Map<string, string[]>([
    ['nat', []],
    ['filter', []],
  ]);
  generation = 100;
  readonly ran: string[] = [];

  constructor(private readonly backend: 'nf_tables' | 'legacy' = 'nf_tables') {}

  readonly run: CommandRunner = async (argv, input) => {
    const [cmd, ...rest] = argv;
    const args = rest[0] === '-w' ? rest.slice(2) : rest;
    this.ran.push(args[0] === '--version' ? `${cmd} --version` : cmd!);
    if (args[0] === '--version') return `iptables v1.8.9 (${this.backend})\n`;
    if (cmd === 'iptables-save') return `*${args[1]}\n${this.lines(args[1]!).join('\n')}\nCOMMIT\n`;
    if (cmd === 'iptables-restore') return this.restore(input);
    return this.iptables(args);
  };

  /** Removes the lines matching `re` from a table, as someone else's flush would; `write` bumps the generation. */
  lose(table: string, re: RegExp, write = true): void {
    this.tables.set(
      table,
      this.lines(table).filter((l) => !re.test(l)),
    );
    if (write) this.generation++;
  }

  private lines(table: string): string[] {
    return this.tables.get(table) ?? [];
  }

  private restore(input: string): string {
    let table = '';
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':')) {
        const chain = line.slice(1).split(' ')[0]!;
        const kept = this.lines(table).filter((l) => !l.startsWith(`:${chain} `) && !l.startsWith(`-A ${chain} `));
        this.tables.set(table, [`:${chain} - [0:0]`, ...kept]);
      } else if (line.startsWith('-A ')) this.lines(table).push(line.replace(/"/g, ''));
    }
    this.generation++;
    return '';
  }

  private iptables(args: readonly string[]): string {
    const table = args[1]!;
    const [op, chain, ...spec] = args.slice(2);
    const line = `-A ${chain} ${spec.join(' ')}`;
    const lines = this.lines(table);
    const missing = (op === '-C' || op === '-D') && !lines.includes(line);
    if (missing) throw Object.assign(new Error('iptables: no such rule'), { stderr: 'Bad rule' });
    if (op === '-C') return '';
    if (op === '-A') lines.push(line);
    else if (op === '-D') {
      lines.splice(lines.indexOf(line), 1);
    } else if (op === '-F') this.lose(table, new RegExp(`^-A ${chain} `), false);
    else if (op === '-X') this.lose(table, new RegExp(`^:${chain} `), false);
    this.generation++;
    return '';
  }
}
