// BGP over TCP (RFC 4271 §2: port 179), as thin as it can be: node:net sockets, the codec's framer on the
// way in and its encoder on the way out. All protocol decisions stay in the FSM and the speaker.
import net from 'node:net';
import { BgpMessageError } from '../codec/errors.ts';
import { BgpDecoder } from '../codec/framer.ts';
import { encodeMessageToBuffer } from '../codec/message.ts';
import type { CodecContext, Message } from '../types.ts';
import { ConnectError, type Connection, type ConnectionHandlers, type Transport } from '../speaker/connection.ts';

/** The BGP port (RFC 4271 §8.2.1 "TCP port 179"). */
export const BGP_PORT = 179;

export interface TcpTransportOptions {
  /** Address to listen on (default '::', which also accepts IPv4 on Linux). */
  listenAddress?: string;
  /** Port to listen on (default 179). */
  port?: number;
  /** Give up a connect after this long (default 5 s; the FSM's ConnectRetry timer also bounds it). */
  connectTimeoutMs?: number;
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports ("::ffff:192.0.2.1" -> "192.0.2.1"). */
function plainAddress(a: string | undefined): string {
  return a?.startsWith('::ffff:') ? a.slice(7) : (a ?? '');
}

/** One BGP connection over a TCP socket. */
class TcpConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  // We always offer 4-octet AS; the framer switches its own context when it decodes the peer's OPEN.
  private readonly decoder = new BgpDecoder({ local: { fourOctetAs: true } });
  private ctx: CodecContext = { fourOctetAs: false };
  private handlers: ConnectionHandlers | null = null;
  private backlog: (() => void)[] = [];
  private closed = false;

  constructor(private readonly socket: net.Socket) {
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.localAddress = plainAddress(socket.localAddress);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows every error
    socket.on('close', () => this.onClose());
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const queued = this.backlog;
    this.backlog = [];
    for (const fn of queued) fn();
  }

  send(msg: Message): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(encodeMessageToBuffer(msg, this.ctx));
  }

  setFourOctetAs(on: boolean): void {
    this.ctx = { ...this.ctx, fourOctetAs: on };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(); // flushes a queued NOTIFICATION, then FIN
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private deliver(fn: (h: ConnectionHandlers) => void): void {
    if (this.handlers) fn(this.handlers);
    else this.backlog.push(() => fn(this.handlers!));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let messages: Message[];
    try {
      messages = this.decoder.write(chunk);
    } catch (e) {
      if (!(e instanceof BgpMessageError)) throw e;
      for (const m of e.messages) this.deliver((h) => h.message(m));
      // §6: a message error is fatal to the connection; the session sends this NOTIFICATION and closes.
      this.deliver((h) => h.error({ code: e.code, subcode: e.subcode, data: e.data }));
      return;
    }
    for (const m of messages) this.deliver((h) => h.message(m));
  }

  private onClose(): void {
    this.closed = true;
    this.deliver((h) => h.closed());
  }
}

/** Listens for and makes BGP connections over TCP. */
export class TcpTransport implements Transport {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: TcpTransportOptions = {}) {}

  /** Starts listening; resolves once bound. Rejects (e.g. EADDRINUSE, EACCES below 1024 without privilege). */
  listen(accept: (conn: Connection) => void): Promise<void> {
    const server = net.createServer((socket) => accept(this.track(socket)));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.listenAddress ?? '::', port: this.opts.port ?? BGP_PORT }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Port actually bound (useful with port 0). */
  get boundPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  connect(remoteAddress: string, port: number, localAddress?: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: remoteAddress, port, ...(localAddress ? { localAddress } : {}) });
      const timer = setTimeout(
        () => socket.destroy(new ConnectError(`connect ${remoteAddress}:${port}: timed out`)),
        this.opts.connectTimeoutMs ?? 5000,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(this.track(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConnectError(`connect ${remoteAddress}:${port}: ${e.message}`));
      });
    });
  }

  /** Stops listening and resets any connection still open. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroySoon();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: net.Socket): Connection {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return new TcpConnection(socket);
  }
}
