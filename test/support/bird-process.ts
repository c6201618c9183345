// One BIRD daemon as the tests drive it: birdc on its control socket, and its PID read from its own PID file
// (BIRD daemonizes, so the PID file is the only handle on it). Shared by the BIRD routers in test/support.
import { existsSync, readFileSync } from 'node:fs';
import { run as runCmd, type LabScope } from '@weft/lab';
import { waitFor } from 'weft/lab';

export class BirdProcess {
  /** `scope` ends BIRD with the lab, on Ctrl-C too (a daemon is out of reach of the lab's own signal handling). */
  constructor(
    readonly ctl: string,
    readonly pidFile: string,
    scope: LabScope,
  ) {
    scope.adoptDaemon(pidFile, 'bird');
  }

  /** birdc's output for `args`; BIRD's own errors come back as text, not exceptions. */
  async birdc(args: string[]): Promise<string> {
    return (await runCmd(['birdc', '-s', this.ctl, ...args], { timeoutMs: 20_000, allowFailure: true })).stdout;
  }

  /** The PID in BIRD's PID file, or 0 when there is none. */
  pid(): number {
    return existsSync(this.pidFile) ? Number(readFileSync(this.pidFile, 'utf8').trim()) : 0;
  }

  alive(): boolean {
    const pid = this.pid();
    try {
      return pid > 0 && process.kill(pid, 0);
    } catch {
      return false;
    }
  }

  /** Stops BIRD by its PID (SIGTERM, then SIGKILL); for cleanup. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (!this.alive()) return;
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !this.alive(), 10_000, 'BIRD to stop').catch(
      () => this.alive() && process.kill(pid, 'SIGKILL'),
    );
  }
}
