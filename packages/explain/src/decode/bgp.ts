// BGP on TCP: each segment's payload is pushed into a per-direction route-sync framer (BgpDecoder), which says
// which messages are complete and whether they are acceptable; the same bytes are split by the length field here
// so each message can be annotated field by field (bgp-fields.ts). A message that started in an earlier segment
// is annotated on its reassembled bytes, with offsets counted from the message's first byte.
import {
  BgpDecoder, BgpMessageError, CapabilityCode, ErrorHandling, HEADER_LENGTH, MessageType, type Message, type UpdateMessage,
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
}

/** Per-direction framers, keyed "src:port>dst:port". */
export class BgpStreams implements BgpStreamsLike {
  readonly kind = 'bgp-streams';
  private readonly streams = new Map<string, Stream>();

  get(flow: string): Stream {
    let s = this.streams.get(flow);
    if (!s) {
      // Until OPENs are seen, assume 4-octet AS: every current speaker (BIRD, Calico, weft) negotiates it.
      s = { decoder: new BgpDecoder({ context: { fourOctetAs: true }, local: { fourOctetAs: true, extendedMessage: true } }), pending: Buffer.alloc(0) };
      this.streams.set(flow, s);
    }
    return s;
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
  const how = e.handling === ErrorHandling.TreatAsWithdraw ? 'treat-as-withdraw: every prefix in this UPDATE is withdrawn' : 'attribute discard: the attribute is ignored, the routes kept';
  return `${how}; the session stays up, no NOTIFICATION (RFC 7606 §2)`;
}

function problemFrom(b: LayerBuilder, e: BgpMessageError, start: number): void {
  const attr = e.attrType !== undefined ? b.layer.fields.find((f) => f.name === 'bgp.update.path_attribute' && f.value.toString().includes(`(${e.attrType})`)) : undefined;
  b.problem({ field: attr ? attr.name : undefined, offset: attr ? attr.offset : start, message: e.message, action: bgpAction(e), verdict: `bgp:${e.code}/${e.subcode}` });
}

export function decodeBgpLayer(ctx: DecodeContext, offset: number, end: number, depth: number): void {
  const streams = ctx.bgp as BgpStreams;
  const flow = ctx.tcpFlow ?? 'input';
  const s = streams.get(flow);
  if (s.failed) {
    const b = beginLayer(ctx, 'bgp', 'BGP (after a fatal error)', depth, offset, 'RFC 4271 §6');
    b.field('bgp.ignored', offset, end - offset, `${end - offset} bytes`, 'the receiver already closed this session, so these bytes are not read');
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
    const b = off < carried
      ? new LayerBuilder(Buffer.from(whole.subarray(off, msgEnd)), 'bgp', 'BGP (reassembled across segments; offsets from the message start)', depth, 0, 'RFC 4271 §4')
      : beginLayer(ctx, 'bgp', 'BGP', depth, offset + off - carried, 'RFC 4271 §4');
    if (off < carried) ctx.packet.push(b.layer);
    const base = off < carried ? 0 : offset + off - carried;
    walkBgpMessage(b, base, base + (msgEnd - off), { fourOctetAs: s.decoder.context.fourOctetAs });
    b.layer.title = `BGP ${messageTitle(messages[i], whole[off + 18]!)}${b.layer.title.slice(3)}`;
    const m = messages[i];
    if (m) noteMessage(streams, flow, b, m);
    else if (error) { problemFrom(b, error, base); off = whole.length; break; }
    i++;
    off = msgEnd;
  }
  s.pending = s.failed ? Buffer.alloc(0) : Buffer.from(whole.subarray(off));
  if (s.pending.length) {
    const b = beginLayer(ctx, 'bgp', 'BGP (continues in the next segment)', depth, end - (whole.length - off), 'RFC 4271 §4.1');
    b.field('bgp.partial', end - Math.min(whole.length - off, end - offset), Math.min(whole.length - off, end - offset), `${whole.length - off} bytes`, 'start of a message whose length field says more bytes than this segment holds; TCP delivers the rest');
  }
}

function messageTitle(m: Message | undefined, typeOctet: number): string {
  const t = m?.type ?? typeOctet;
  return ['?', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'][t] ?? `type ${t}`;
}

function noteMessage(streams: BgpStreams, flow: string, b: LayerBuilder, m: Message): void {
  if (m.type === MessageType.Open) {
    streams.sawOpen(flow, m.capabilities.some((c) => c.type === CapabilityCode.FourOctetAs));
  } else if (m.type === MessageType.Update) {
    for (const e of (m as UpdateMessage).errors ?? []) problemFrom(b, e, b.layer.offset);
  }
}
