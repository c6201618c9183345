// Running commands: argv arrays only (no shell), so names and addresses are never re-parsed by sh.
import { spawn, spawnSync } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Thrown when a command the lab relies on exits non-zero; the message carries the command and its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr.trim()}`);
  }
}

export interface RunOptions {
  /** Bytes for stdin. */
  input?: string | Buffer;
  /** Kill the command after this many milliseconds (default 60 s): every lab step is bounded in time. */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Runs argv to completion and returns its output; throws CommandError on a non-zero exit. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(argv, { code: -1, stdout: '', stderr: e.message }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\n(killed by ${signal})` : ''),
      };
      if (result.code !== 0 && !opts.allowFailure) reject(new CommandError(argv, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // a command that exits without reading stdin is not an error here
    child.stdin.end(opts.input ?? '');
  });
}

/** Synchronous variant, for exit handlers where nothing asynchronous can run any more. */
export function runSync(argv: readonly string[], timeoutMs = 20_000): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** True when `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  return runSync(['sh', '-c', `command -v "$0"`, cmd]).code === 0;
}
