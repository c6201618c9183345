// The seam between the speaker and the network: connections that carry decoded BGP messages.
// Two implementations: TCP (src/transport/tcp.ts: node:net plus the codec) and the in-memory one below,
// which hands message objects across without bytes, for tests and for simulating large meshes.
import type { Message } from '../types.ts';
import type { Notification } from '../fsm/types.ts';

/** Events a connection reports to its owner. Called asynchronously, never from inside `send`/`close`. */
export interface ConnectionHandlers {
  message(msg: Message): void;
  /** The bytes could not be decoded: send this NOTIFICATION and drop the connection (RFC 4271 §6). */
  error(notification: Notification): void;
  /** The connection is gone (peer closed, reset, or our `close`). Called once. */
  closed(): void;
}

/** One established transport connection to a peer. */
export interface Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Installs the handlers; messages that arrived before are delivered then. */
  attach(handlers: ConnectionHandlers): void;
  /** Queues a message; silently dropped once closed. */
  send(msg: Message): void;
  /** Negotiated wire options after the OPEN exchange (RFC 6793 4-octet AS). Ignored by the memory transport. */
  setFourOctetAs(on: boolean): void;
  /** Closes after flushing queued messages. Idempotent. */
  close(): void;
}

/** Opens and accepts connections. */
export interface Transport {
  /** Starts accepting; `accept` receives every inbound connection. */
  listen(accept: (conn: Connection) => void): Promise<void>;
  /** Connects to a peer; rejects when the connection fails. */
  connect(remoteAddress: string, port: number, localAddress?: string): Promise<Connection>;
  /** Stops listening. Open connections are closed by their owners. */
  close(): Promise<void>;
}

/** Thrown when a connection cannot be made (refused, unreachable, no listener). */
export class ConnectError extends Error {
  override name = 'ConnectError';
}

// ---------------------------------------------------------------------------------------------------------------
// In-memory transport

class MemoryConnection implements Connection {
  other!: MemoryConnection;
  private handlers: ConnectionHandlers | null = null;
  private backlog: Message[] = [];
  private isClosed = false;

  constructor(
    readonly localAddress: string,
    readonly remoteAddress: string,
    private readonly gone: (c: MemoryConnection) => void,
  ) {}

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const queued = this.backlog;
    this.backlog = [];
    for (const m of queued) setImmediate(() => !this.isClosed && handlers.message(m));
  }

  send(msg: Message): void {
    if (this.isClosed) return;
    const to = this.other;
    setImmediate(() => to.deliver(msg));
  }

  setFourOctetAs(): void {}

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.gone(this);
    const to = this.other;
    // The peer sees the close after the messages queued before it, as on TCP.
    setImmediate(() => to.remoteClosed());
    setImmediate(() => this.handlers?.closed());
  }

  private deliver(msg: Message): void {
    if (this.isClosed) return;
    if (this.handlers) this.handlers.message(msg);
    else this.backlog.push(msg);
  }

  /** Drops the connection with no goodbye on either side, as a crashed process's sockets do. */
  sever(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.gone(this);
    this.other.remoteClosed();
    setImmediate(() => this.handlers?.closed());
  }

  remoteClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.gone(this);
    this.handlers?.closed();
  }
}

/** A registry of in-memory listeners by address: one per simulated network. */
export class MemoryNetwork {
  readonly listeners = new Map<string, (conn: Connection) => void>();
  private readonly open = new Set<MemoryConnection>();

  /**
   * Simulates a crash of the speaker at `address`: its listener goes and its connections drop without a
   * NOTIFICATION (what graceful restart helpers must cope with, RFC 4724).
   */
  crash(address: string): void {
    this.listeners.delete(address);
    for (const c of [...this.open]) if (c.localAddress === address) c.sever();
  }

  /** A transport bound to `address` on this network. */
  transport(address: string): Transport {
    return {
      listen: async (accept) => void this.listeners.set(address, accept),
      connect: async (remote) => this.connect(address, remote),
      close: async () => void this.listeners.delete(address),
    };
  }

  private connect(from: string, to: string): Connection {
    const accept = this.listeners.get(to);
    if (!accept) throw new ConnectError(`connect ${to}: no listener`);
    const gone = (c: MemoryConnection) => this.open.delete(c);
    const ours = new MemoryConnection(from, to, gone);
    const theirs = new MemoryConnection(to, from, gone);
    ours.other = theirs;
    theirs.other = ours;
    this.open.add(ours).add(theirs);
    setImmediate(() => accept(theirs));
    return ours;
  }
}
