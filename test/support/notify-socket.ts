// A NOTIFY_SOCKET of the test's own, as systemd makes one for a Type=notify service: a unix datagram socket.
// Node cannot bind one, so a short python3 script does; it prints each datagram as a JSON line and closes the
// descriptors that come with a BARRIER=1 (systemd-notify waits for that, as it waits for systemd), and exits
// after READY=1 has arrived with its barrier, or after `seconds`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const RECEIVER = `
import socket, os, sys, json, array, time
path, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path)
print(json.dumps("BOUND"), flush=True)
deadline, ready = time.time() + seconds, False
while time.time() < deadline:
    s.settimeout(max(0.05, deadline - time.time()))
    try:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    except socket.timeout:
        break
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i'); fds.frombytes(data[: len(data) - len(data) % 4])
            for fd in fds: os.close(fd)
    text = msg.decode('utf-8', 'replace')
    print(json.dumps(text), flush=True)
    ready = ready or 'READY=1' in text.split('\\n')
    if ready and 'BARRIER=1' in text: break
os.unlink(path)
`;

export interface NotifySocket {
  readonly path: string;
  /** Every datagram received, once the receiver has exited (READY=1 with its barrier, or the time is up). */
  readonly messages: Promise<string[]>;
}

/** Binds `dir`/notify.sock and listens up to `seconds`; resolves once the socket exists. */
export async function notifySocket(dir: string, seconds: number): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const child = spawn('python3', ['-c', RECEIVER, path, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let bound: () => void = () => {};
  const isBound = new Promise<void>((resolve) => (bound = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('"BOUND"')) bound();
  });
  const messages = new Promise<string[]>((resolve) =>
    child.on('exit', () => {
      bound();
      resolve(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as string)
          .filter((m) => m !== 'BOUND'),
      );
    }),
  );
  await isBound;
  return { path, messages };
}
