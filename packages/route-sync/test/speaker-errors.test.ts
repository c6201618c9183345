// What a speaker sends back over real TCP when the other end misbehaves: a NOTIFICATION with the RFC's
// code and subcode, then the connection closes (RFC 4271 §6). The "peer" here is a raw socket.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import {
  BgpDecoder,
  CapabilityCode,
  encodeMessageToBuffer,
  MessageType,
  NotificationCode,
  OpenErrorSubcode,
  Speaker,
  TcpTransport,
  type Message,
} from '../src/index.ts';
import { waitFor } from './speaker-helpers.ts';

const SPEAKER = '127.0.0.31';
const RAW = '127.0.0.32';
const PORT = 17904;

/** Starts a speaker that expects RAW (passive), connects to it from RAW, sends `bytes`, collects replies. */
async function exchange(bytes: Buffer): Promise<{ replies: Message[]; speaker: Speaker }> {
  const speaker = new Speaker({
    routerId: SPEAKER,
    transport: new TcpTransport({ listenAddress: SPEAKER, port: PORT }),
  });
  speaker.addPeer({ address: RAW, as: 64512, passive: true });
  await speaker.start();
  const replies: Message[] = [];
  const decoder = new BgpDecoder({ local: { fourOctetAs: true } });
  try {
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host: SPEAKER, port: PORT, localAddress: RAW }, () => sock.write(bytes));
      const timer = setTimeout(
        () => (sock.destroy(), reject(new Error('speaker did not close the connection'))),
        10_000,
      );
      sock.on('data', (d) => replies.push(...decoder.write(d)));
      sock.on('error', () => {});
      sock.on('close', () => (clearTimeout(timer), resolve()));
    });
    return { replies, speaker };
  } finally {
    await speaker.stop();
  }
}

const notifications = (ms: Message[]) => ms.filter((m) => m.type === MessageType.Notification);

test('a bad marker gets Message Header Error / Connection Not Synchronized', async () => {
  const junk = Buffer.alloc(19, 0);
  junk.writeUInt16BE(19, 16);
  junk[18] = MessageType.Keepalive;
  const { replies, speaker } = await exchange(junk);
  assert.is(replies[0]?.type, MessageType.Open); // our OPEN went out first (Active -> OpenSent)
  const n = notifications(replies)[0];
  assert.ok(n && n.type === MessageType.Notification);
  assert.is(n.code, NotificationCode.MessageHeaderError);
  assert.is(n.subcode, 1);
  assert.match(speaker.status()[0]!.lastError ?? '', /MessageError/);
});

test('an OPEN from the wrong AS gets OPEN Message Error / Bad Peer AS', async () => {
  const open = encodeMessageToBuffer({
    type: MessageType.Open,
    version: 4,
    myAs: 65099,
    holdTime: 90,
    bgpId: RAW,
    capabilities: [{ type: CapabilityCode.FourOctetAs, asn: 65099 }],
  });
  const { replies, speaker } = await exchange(open);
  const n = notifications(replies)[0];
  assert.ok(n && n.type === MessageType.Notification);
  assert.is(n.code, NotificationCode.OpenMessageError);
  assert.is(n.subcode, OpenErrorSubcode.BadPeerAs);
  await waitFor('status', () => /BadOpen/.test(speaker.status()[0]!.lastError ?? ''));
});

test('an UPDATE before the session is up gets an FSM Error (RFC 6608)', async () => {
  const update = encodeMessageToBuffer({ type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] });
  const { replies } = await exchange(update);
  const n = notifications(replies)[0];
  assert.ok(n && n.type === MessageType.Notification);
  assert.is(n.code, NotificationCode.FsmError);
  assert.is(n.subcode, 1); // received in OpenSent
});

test.run();
