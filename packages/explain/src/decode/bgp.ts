// BGP on TCP: each segment's payload is pushed into a per-direction route-sync framer (BgpDecoder), which says
// which messages are complete and whether they are acceptable; the same bytes are split by the length field here
// so each message can be annotated field by field (bgp-fields.ts). A message that started in an earlier segment
// is annotated on its reassembled bytes, with offsets counted from the message's first byte.
import {
  BgpDecoder,
  BgpMessageError,
  CapabilityCode,
  ErrorHandling,
  HEADER_LENGTH,
  MessageType,
  type Message,
  type UpdateMessage,
} from '@weft/route-sync';
import { LayerBuilder } from '../layer.ts';
import { beginLayer, type BgpStreamsLike, type DecodeContext } from './context.ts';
import { walkBgpMessage } from './bgp-fields.ts';
import { bgpNotificationName } from './bgp-names.ts';

interface Stream {
  decoder: BgpDecoder;
  /** Bytes of a message not yet complete, copied from earlier segments. */
  pending: Buffer;
  /** Set once the framer threw: the receiver has closed the session. */
  failed?: BgpMessageError;
  /** Whether this direction's OPEN advertised 4-octet AS (RFC 6793), once seen. */
  fourOctetAs?: boolean;
  /** Sequence number of the next byte the framer expects (TCP input only). */
  nextSeq?: number;
  /** The framer starts at a message boundary: the SYN was captured, or a marker was found. */
  synced: boolean;
}

const MARKER = Buffer.alloc(16, 0xff);

/** Per-direction framers, keyed "src:port>dst:port". */
export class BgpStreams implements BgpStreamsLike {
  private readonly streams = new Map<string, Stream>();

  get(flow: string): Stream {
    return this.streams.get(flow) ?? this.reset(flow, flow === HEX_FLOW);
  }

  /** A fresh framer for `flow`. Until OPENs are seen it assumes 4-octet AS, which every current speaker negotiates. */
  reset(flow: string, synced: boolean, nextSeq?: number): Stream {
    const decoder = new BgpDecoder({
      context: { fourOctetAs: true },
      local: { fourOctetAs: true, extendedMessage: true },
    });
    const s: Stream = { decoder, pending: Buffer.alloc(0), synced, nextSeq };
    this.streams.set(flow, s);
    return s;
  }

  syn(flow: string, seq: number): void {
    this.reset(flow, true, (seq + 1) >>> 0);
  }

  /** After an OPEN in `flow`: both directions decode with what both OPENs advertised (RFC 6793 §4). */
  sawOpen(flow: string, fourOctetAs: boolean): void {
    const s = this.get(flow);
    s.fourOctetAs = fourOctetAs;
    const back = this.streams.get(reverse(flow));
    const both = fourOctetAs && (back?.fourOctetAs ?? true);
    for (const x of [s, back]) if (x) x.decoder.context = { ...x.decoder.context, fourOctetAs: both };
  }
}

/** The stream key of hex input, which has no TCP header: it always starts at a message boundary. */
const HEX_FLOW = 'input';

function reverse(flow: string): string {
  const [a, b] = flow.split('>');
  return `${b}>${a}`;
}

/** The receiver's reaction to an error from route-sync, in words. */
export function bgpAction(e: BgpMessageError): string {
  const n = bgpNotificationName(e.code, e.subcode);
  if (e.handling === ErrorHandling.SessionReset || e.handling === ErrorHandling.AfiSafiDisable) {
    return `the receiver sends NOTIFICATION ${e.code}/${e.subcode} (${n.code} / ${n.subcode}) and closes the session (RFC 4271 §6)`;
  }
  const how =
    e.handling === ErrorHandling.TreatAsWithdraw
      ? 'treat-as-withdraw: every prefix in this UPDATE is withdrawn'
      : 'attribute discard: the attribute is ignored, the routes kept';
  return `${how}; the session stays up, no NOTIFICATION (RFC 7606 §2)`;
}

/** The field each NOTIFICATION code/subcode is about (RFC 4271 §6.1-6.3), when the error names no attribute. */
const ERROR_FIELDS: Record<string, string> = {
  '1/1': 'bgp.marker',
  '1/2': 'bgp.length',
  '1/3': 'bgp.type',
  '2/1': 'bgp.open.version',
  '2/2': 'bgp.open.myas',
  '2/3': 'bgp.open.identifier',
  '2/4': 'bgp.open.opt.param',
  '2/6': 'bgp.open.holdtime',
  '2/7': 'bgp.cap',
  '3/1': 'bgp.update.path_attributes.length',
  '3/10': 'bgp.nlri_prefix',
};

function problemFrom(b: LayerBuilder, e: BgpMessageError, start: number): void {
  const fields = b.layer.fields.filter((f) => f.offset >= start);
  const target =
    e.attrType !== undefined
      ? fields.find((f) => f.name === 'bgp.update.path_attribute' && f.value.toString().includes(`(${e.attrType})`))
      : fields.find((f) => f.name === ERROR_FIELDS[`${e.code}/${e.subcode}`]);
  b.problem({
    field: target?.name,
    offset: target?.offset ?? start,
    message: e.message,
    action: bgpAction(e),
    verdict: `bgp:${e.code}/${e.subcode}`,
  });
}

export function decodeBgpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const streams = ctx.bgp as BgpStreams;
  const flow = ctx.tcpFlow ?? HEX_FLOW;
  const aligned = alignSegment(ctx, streams, flow, offset, end, depth);
  if (aligned === null) return;
  offset = aligned;
  const s = streams.get(flow);
  if (s.failed) {
    const b = beginLayer(ctx, 'bgp', 'BGP (after a fatal error)', depth, offset, 'RFC 4271 §6');
    b.field(
      'bgp.ignored',
      offset,
      end - offset,
      `${end - offset} bytes`,
      'the receiver already closed this session, so these bytes are not read',
    );
    return;
  }
  const chunk = ctx.buf.subarray(offset, end);
  let messages: Message[];
  let error: BgpMessageError | undefined;
  try {
    messages = s.decoder.write(chunk);
  } catch (e) {
    if (!(e instanceof BgpMessageError)) throw e;
    error = e;
    messages = e.messages;
    s.failed = e;
  }
  const carried = s.pending.length;
  const whole = carried ? Buffer.concat([s.pending, chunk]) : chunk;
  let off = 0;
  let i = 0;
  while (whole.length - off >= HEADER_LENGTH) {
    const len = whole.readUInt16BE(off + 16);
    const complete = len >= HEADER_LENGTH && whole.length - off >= len;
    if (!complete && !(error && i === messages.length)) break;
    const msgEnd = complete ? off + len : whole.length;
    const b =
      off < carried
        ? new LayerBuilder(
            Buffer.from(whole.subarray(off, msgEnd)),
            'bgp',
            'BGP (reassembled across segments; offsets from the message start)',
            depth,
            0,
            'RFC 4271 §4',
          )
        : beginLayer(ctx, 'bgp', 'BGP', depth, offset + off - carried, 'RFC 4271 §4');
    if (off < carried) ctx.packet.push(b.layer);
    const base = off < carried ? 0 : offset + off - carried;
    walkBgpMessage(b, base, base + (msgEnd - off), { fourOctetAs: s.decoder.context.fourOctetAs });
    b.layer.title = `BGP ${messageTitle(messages[i], whole[off + 18]!)}${b.layer.title.slice(3)}`;
    const m = messages[i];
    if (m) noteMessage(streams, flow, b, m);
    else if (error) {
      problemFrom(b, error, base);
      off = whole.length;
      break;
    }
    i++;
    off = msgEnd;
  }
  s.pending = s.failed ? Buffer.alloc(0) : Buffer.from(whole.subarray(off));
  if (s.pending.length) {
    const b = beginLayer(
      ctx,
      'bgp',
      'BGP (continues in the next segment)',
      depth,
      end - (whole.length - off),
      'RFC 4271 §4.1',
    );
    b.field(
      'bgp.partial',
      end - Math.min(whole.length - off, end - offset),
      Math.min(whole.length - off, end - offset),
      `${whole.length - off} bytes`,
      'start of a message whose length field says more bytes than this segment holds; TCP delivers the rest',
    );
  }
}

function messageTitle(m: Message | undefined, typeOctet: number): string {
  const t = m?.type ?? typeOctet;
  return ['?', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'][t] ?? `type ${t}`;
}

function noteMessage(streams: BgpStreams, flow: string, b: LayerBuilder, m: Message): void {
  if (m.type === MessageType.Open) {
    streams.sawOpen(
      flow,
      m.capabilities.some((c) => c.type === CapabilityCode.FourOctetAs),
    );
  } else if (m.type === MessageType.Update) {
    for (const e of (m as UpdateMessage).errors ?? []) problemFrom(b, e, b.layer.offset);
  }
}

/**
 * Where framing of this segment starts, or null to skip it. Skips retransmitted bytes (sequence numbers already
 * read), restarts after a gap in the capture, and when the capture began mid-stream, looks for the next marker.
 */
function alignSegment(
  ctx: DecodeContext,
  streams: BgpStreams,
  flow: string,
  offset: number,
  end: number,
  depth: number,
): number | null {
  const seq = ctx.tcpSeq;
  if (seq === undefined || flow === HEX_FLOW) return offset;
  let s = streams.get(flow);
  const delta = s.nextSeq === undefined ? 0 : (seq - s.nextSeq) | 0;
  if (delta > 0) s = streams.reset(flow, false);
  s.nextSeq = (seq + (end - offset)) >>> 0;
  if (delta < 0) {
    const old = Math.min(-delta, end - offset);
    skipped(
      ctx,
      offset,
      old,
      depth,
      "retransmitted bytes (sequence numbers already read): the receiver's TCP discards them",
    );
    if (old === end - offset) return null;
    offset += old;
  }
  if (s.synced) return offset;
  const at = ctx.buf.subarray(offset, end).indexOf(MARKER);
  if (at !== 0)
    skipped(
      ctx,
      offset,
      at < 0 ? end - offset : at,
      depth,
      'the capture did not start at a message boundary (no SYN seen, or segments missing): bytes up to the next marker are skipped',
    );
  if (at < 0) return null;
  s.synced = true;
  return offset + at;
}

function skipped(ctx: DecodeContext, offset: number, length: number, depth: number, why: string): void {
  const b = beginLayer(ctx, 'bgp', 'BGP (bytes skipped)', depth, offset, 'RFC 9293 §3.4');
  b.field('bgp.skipped', offset, length, `${length} bytes`, why);
}
