// systemd readiness (Type=notify): READY=1 to $NOTIFY_SOCKET once the agent is ready, nothing without it.
// Node cannot send on a unix datagram socket, and the npm packages that can are native addons; systemd's own
// `systemd-notify --ready` sends the datagram instead. systemd sees it come from that child process, so the
// unit says NotifyAccess=all.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Tells systemd (or whoever made $NOTIFY_SOCKET) that the service is ready. Resolves false when there is no
 * socket; rejects when systemd-notify fails.
 */
export async function notifyReady(
  env: Readonly<Record<string, string | undefined>> = process.env,
  status = 'ready',
): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return false;
  await run('systemd-notify', ['--ready', `--status=${status}`], {
    env: { ...env } as NodeJS.ProcessEnv,
    timeout: 5000,
  });
  return true;
}
