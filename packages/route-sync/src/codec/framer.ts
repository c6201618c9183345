// Stream framer: TCP delivers BGP as a byte stream with no boundaries; each message announces its own length in
// its 19-byte header (RFC 4271 §4.1). Push chunks in with `write`, get whole decoded messages out.
//
// Design notes
// - Push style (no I/O): the transport calls `write(chunk)` from its 'data' handler.
// - Bounded: a header is checked as soon as its 19 bytes are here, so a bad length is rejected before its body is
//   awaited, and at most one partial message (< max message length) is ever kept between writes.
// - Messages are decoded straight out of the caller's chunk when no partial message is pending (the common case);
//   only the tail of a split message is copied. Decoded messages never alias the chunk.
// - Negotiation changes the wire format mid-stream (4-octet AS after OPEN). An UPDATE may arrive in the same chunk as
//   the peer's OPEN, before the session has processed it, so with `local` set the framer applies the negotiation
//   itself when it decodes an OPEN. `context` can also be set directly.
import { CapabilityCode, MessageType, type CodecContext, type Message } from '../types.ts';
import { BgpMessageError } from './errors.ts';
import { DEFAULT_CONTEXT, decodeMessage } from './message.ts';

export interface FramerOptions {
  /** Wire context to decode with until changed (default: 2-octet AS, 4096-byte messages). */
  context?: CodecContext;
  /**
   * What we advertise in our own OPEN. When given, decoding the peer's OPEN sets `context` to the intersection
   * (RFC 6793 §4: 4-octet AS only if both sent capability 65; RFC 8654: extended messages only if both sent 6).
   */
  local?: { fourOctetAs: boolean; extendedMessage?: boolean };
}

/** Push-style BGP message framer. After it throws, the stream is unusable: every later write throws the same. */
export class BgpDecoder {
  context: CodecContext;
  private readonly local: FramerOptions['local'];
  private pending: Buffer = Buffer.alloc(0);
  private failed: BgpMessageError | null = null;

  constructor(opts: FramerOptions = {}) {
    this.context = opts.context ?? DEFAULT_CONTEXT;
    this.local = opts.local;
  }

  /** Bytes held back waiting for the rest of a message (always < the max message length). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /**
   * Consumes `chunk` (not retained) and returns every message it completes, in order. Throws a session-reset
   * BgpMessageError on a malformed message: send its `toNotification()` and close. `error.messages` holds the
   * messages of this chunk that came before the bad one.
   */
  write(chunk: Uint8Array): Message[] {
    if (this.failed) throw this.failed;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Message[] = [];
    let off = 0;
    try {
      for (;;) {
        const r = decodeMessage(buf, off, this.context);
        if (!r) break;
        out.push(r.message);
        this.afterMessage(r.message);
        off += r.length;
      }
    } catch (e) {
      if (!(e instanceof BgpMessageError)) throw e;
      e.messages = out;
      this.failed = e;
      this.pending = Buffer.alloc(0);
      throw e;
    }
    // decodeMessage already checked the header of an incomplete tail, so the tail is below the maximum length.
    this.pending = Buffer.from(buf.subarray(off));
    return out;
  }

  private afterMessage(m: Message): void {
    if (!this.local || m.type !== MessageType.Open) return;
    const peer = (code: CapabilityCode) =>
      m.capabilities.some((c) => c.type === code || (c.type === CapabilityCode.Unrecognized && c.code === code));
    this.context = {
      fourOctetAs: this.local.fourOctetAs && peer(CapabilityCode.FourOctetAs),
      extendedMessage: !!this.local.extendedMessage && peer(CapabilityCode.ExtendedMessage),
    };
  }
}
