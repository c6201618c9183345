// A long-lived `sh` that runs the firewall's commands (iptables every --iptables-resync seconds, 5 by default).
// Spawning from the agent forks a Node process of some 80 MB, which costs it ~8 ms of CPU per command: with two
// or three commands per resync that was most of an idle agent's CPU. The shell forks instead, and it is small.
//
// Design notes: one command at a time. Each is written as `ARGV <<'MARK' ... MARK` (its input as a quoted here
// document, so nothing in it is expanded) followed by a line printing a marker with the exit status; the output
// up to that marker is the command's (stderr joins stdout). A shell that dies or a command that hangs past the
// timeout is killed and replaced at the next command. The shell holds the event loop only while a command runs,
// so an idle shell never keeps the agent alive; it exits when the agent does (end of its stdin).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

/** A command run through the shell exited non-zero; `stderr` holds what it printed. */
export class ShellCommandError extends Error {
  override name = 'ShellCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} exited ${code}: ${stderr.trim()}`);
  }
}

/** The shell's process: stdin and stdout are pipes (stderr joins stdout inside it). */
type Shell = ChildProcess & { stdin: NonNullable<ChildProcess['stdin']>; stdout: NonNullable<ChildProcess['stdout']> };

/** Keeps the event loop alive for the shell while a command runs (ref), not while it idles (unref). */
function hold(child: Shell, on: boolean): void {
  for (const h of [child, child.stdin, child.stdout] as unknown as Socket[])
    if (!h.destroyed) on ? h.ref?.() : h.unref?.();
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs commands with stdin text through one long-lived shell; see the notes above. */
export class CommandShell {
  private child: Shell | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private output = '';
  private onOutput: (() => void) | null = null;
  private serial = 0;

  constructor(private readonly timeoutMs = 20_000) {}

  /** Runs `argv` with `input` on its stdin; resolves with its output, rejects with ShellCommandError. */
  run(argv: readonly string[], input: string): Promise<string> {
    const result = this.chain.then(
      () => this.exec(argv, input),
      () => this.exec(argv, input),
    );
    this.chain = result.catch(() => {});
    return result;
  }

  /** Ends the shell (it would also end with the agent). */
  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }

  private async exec(argv: readonly string[], input: string): Promise<string> {
    const shell = this.shell();
    const mark = `__WEFT_${randomBytes(6).toString('hex')}_${this.serial++}`;
    const body = input.endsWith('\n') || input === '' ? input : `${input}\n`;
    // The marker goes on a line of its own even after output without a final newline; that newline is ours.
    shell.stdin.write(`${argv.map(quote).join(' ')} <<'${mark}'\n${body}${mark}\nprintf '\\n%s %d\\n' ${mark} $?\n`);
    const end = new RegExp(`\\n${mark} (\\d+)\\n`);
    hold(shell, true);
    const found = await this.waitFor(end, shell).finally(() => hold(shell, false));
    const text = this.output.slice(0, found.index);
    this.output = this.output.slice(found.index + found[0].length);
    const code = Number(found[1]);
    if (code !== 0) throw new ShellCommandError(argv, code, text);
    return text;
  }

  private waitFor(end: RegExp, shell: Shell): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.onOutput = null;
        if (this.child === shell) this.child = null;
        shell.kill('SIGKILL');
        reject(new ShellCommandError(['sh'], -1, why));
      };
      const timer = setTimeout(() => fail(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      timer.unref();
      const check = () => {
        const m = end.exec(this.output);
        if (m) {
          clearTimeout(timer);
          this.onOutput = null;
          resolve(m);
        } else if (shell.exitCode !== null || shell.signalCode !== null) fail(`the shell exited: ${this.output}`);
      };
      this.onOutput = check;
      check();
    });
  }

  private shell(): Shell {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const child = spawn('sh', ['-c', 'exec 2>&1; exec sh -s'], { stdio: ['pipe', 'pipe', 'ignore'] }) as Shell;
    this.output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (this.child !== child) return;
      this.output += chunk;
      this.onOutput?.();
    });
    child.on('exit', () => this.onOutput?.());
    child.stdin.on('error', () => {}); // a shell that died: the exit above fails the command
    hold(child, false);
    this.child = child;
    return child;
  }
}
