// A TCP transfer between two namespaces with a SHA-256 of the bytes on each end, so a test can prove that
// what left one pod arrived in the other unchanged (iperf3 counts bytes; it does not check them).
import type { Netns } from '@weft/lab';

/** Receives one connection, hashes everything, prints `{bytes, sha256}` as JSON when the sender closes. */
const SERVER = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port] = process.argv.slice(1);
const srv = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let bytes = 0;
  s.on('data', (b) => { h.update(b); bytes += b.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes, sha256: h.digest('hex') })); s.end(); srv.close(); });
});
srv.listen(Number(port), host, () => console.error('listening'));
setTimeout(() => { console.error('server timeout'); process.exit(3); }, 120000).unref();
`;

/**
 * Sends `total` bytes of seeded pseudo-random data in chunks of `size` bytes (64 KiB: bulk), prints
 * `{bytes, sha256}` of what it sent. With small chunks each write waits until the previous one left, with
 * Nagle off: many small segments, as interactive traffic makes.
 */
const CLIENT = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port, total, seed, size] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
const h = crypto.createHash('sha256'); let sent = 0; let x = seed >>> 0 || 1;
const chunk = Buffer.alloc(size || 65536);
const small = chunk.length < 65536;
let tries = 0;
const connect = () => { const c = net.connect(Number(port), host, () => onConnect(c)); c.on('error', (e) => onError(c, e)); };
const onError = (c, e) => {
  // The server may still be starting on a busy machine: retry a refused connect (bounded: 5 s).
  if (e.code === 'ECONNREFUSED' && !c.bytesWritten && ++tries < 50) return setTimeout(connect, 100);
  console.error(e.message); process.exit(2);
};
const onConnect = (s) => {
  s.on('close', () => console.log(JSON.stringify({ bytes: sent, sha256: h.digest('hex') })));
  s.setNoDelay(small);
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      for (let i = 0; i < n; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; chunk.writeUInt32LE(x >>> 0, i); }
      const part = chunk.subarray(0, n); h.update(part); sent += n;
      if (small) return s.write(Buffer.from(part), () => setImmediate(pump));
      if (!s.write(Buffer.from(part))) return s.once('drain', pump);
    }
    s.end();
  };
  pump();
};
connect();
setTimeout(() => { console.error('client timeout'); process.exit(3); }, 120000).unref();
`;

export interface TransferResult {
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
}

/**
 * Transfers `bytes` from `from` to `toIp:port` in `to`; both sides' byte counts and hashes. `chunkSize` below
 * 64 KiB sends that many bytes per write, one write at a time (interactive-style traffic).
 */
export async function tcpTransfer(
  from: Netns,
  to: Netns,
  toIp: string,
  bytes: number,
  port = 15001,
  chunkSize = 65536,
): Promise<TransferResult> {
  const server = to.exec([process.execPath, '-e', SERVER, toIp, String(port)], { timeoutMs: 150_000 });
  await new Promise((r) => setTimeout(r, 400)); // let it listen
  const client = await from.exec(
    [process.execPath, '-e', CLIENT, toIp, String(port), String(bytes), String(bytes ^ 0x5eed), String(chunkSize)],
    { timeoutMs: 150_000 },
  );
  const received = JSON.parse((await server).stdout.trim()) as TransferResult['received'];
  return { sent: JSON.parse(client.stdout.trim()) as TransferResult['sent'], received };
}
