// Sends datagrams from inside a lab namespace, for the hostile-traffic test. Runs as its own process
// (`ip netns exec NS node --import tsx agent-send.ts`) with a JSON SendSpec on stdin, prints {"sent": N}.
// Paced in bursts so the receiver's socket buffer never overflows: every datagram sent must be read.
import { createSocket } from 'node:dgram';
import { randomDatagrams } from './agent-craft.ts';

export interface SendSpec {
  bind: { address: string; port: number };
  to: { address: string; port: number };
  /** Hex-encoded datagrams, sent in order. */
  packets?: string[];
  /** Random datagrams generated here (too many to pass on stdin), each after the hex `prefix` if given. */
  random?: { seed: number; count: number; maxLength: number; prefix?: string };
  /** Datagrams per burst and the pause between bursts. */
  burst?: number;
  pauseMs?: number;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const spec = JSON.parse(Buffer.concat(chunks).toString()) as SendSpec;
  const datagrams = [
    ...(spec.packets ?? []).map((h) => Buffer.from(h, 'hex')),
    ...(spec.random
      ? randomDatagrams(spec.random.seed, spec.random.count, spec.random.maxLength).map((d) =>
          Buffer.concat([Buffer.from(spec.random!.prefix ?? '', 'hex'), d]),
        )
      : []),
  ];
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(spec.bind.port, spec.bind.address, () => resolve());
  });
  const burst = spec.burst ?? 100;
  let sent = 0;
  for (let i = 0; i < datagrams.length; i += burst) {
    await Promise.all(
      datagrams.slice(i, i + burst).map(
        (d) =>
          new Promise<void>((resolve, reject) => {
            sock.send(d, spec.to.port, spec.to.address, (e) => (e ? reject(e) : resolve()));
          }),
      ),
    );
    sent += Math.min(burst, datagrams.length - i);
    await new Promise((r) => setTimeout(r, spec.pauseMs ?? 5));
  }
  sock.close();
  process.stdout.write(JSON.stringify({ sent }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`agent-send: ${(e as Error).message}\n`);
  process.exit(1);
});
