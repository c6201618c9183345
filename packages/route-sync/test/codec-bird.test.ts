// Privileged: capture fresh BGP messages between two BIRD 2 daemons (test/fixtures/bgpc-bird-capture.ts) and check
// every one decodes without error and re-encodes byte for byte, and that the capture holds every message type.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { BgpDecoder, CapabilityCode, MessageType, encodeMessageToBuffer, type Message } from '../src/index.ts';
import { BIRD_CONTEXT } from './fixtures/bgpc-bird.ts';
import { captureBird } from './fixtures/bgpc-bird-capture.ts';

if (canRunWith('bird capture', ['bird', 'birdc', 'tcpdump', 'tshark'])) {
  test('BIRD on the wire: fresh messages decode and re-encode byte-identically', async () => {
    const cap = await captureBird('ci');
    for (const [side, msgs] of Object.entries(cap)) {
      assert.ok(msgs.length >= 5, `${side}: captured ${msgs.length} messages`);
      // Through the framer, as the transport would feed them, negotiating from the OPEN it sees.
      const decoded: Message[] = new BgpDecoder({ local: { fourOctetAs: true, extendedMessage: true } }).write(
        Buffer.concat(msgs),
      );
      assert.is(decoded.length, msgs.length, `${side}: one message per captured message`);
      decoded.forEach((m, i) => {
        if (m.type === MessageType.Update)
          assert.is(m.handling, undefined, `${side} #${i}: ${m.errors?.map((e) => e.message)}`);
        const again = encodeMessageToBuffer(m, BIRD_CONTEXT);
        assert.is(again.toString('hex'), msgs[i]!.toString('hex'), `${side} #${i} (type ${m.type}) re-encodes exactly`);
      });
    }
    const fromA = new BgpDecoder({ context: BIRD_CONTEXT }).write(Buffer.concat(cap.fromA));
    const types = new Set(fromA.map((m) => m.type));
    for (const t of [
      MessageType.Open,
      MessageType.Update,
      MessageType.Notification,
      MessageType.Keepalive,
      MessageType.RouteRefresh,
    ]) {
      assert.ok(types.has(t), `A sent a message of type ${t}`);
    }
    const open = fromA.find((m) => m.type === MessageType.Open)!;
    assert.ok(open.type === MessageType.Open);
    const codes: number[] = open.capabilities.map((c) => c.type);
    for (const c of [
      CapabilityCode.Multiprotocol,
      CapabilityCode.FourOctetAs,
      CapabilityCode.GracefulRestart,
      CapabilityCode.RouteRefresh,
    ]) {
      assert.ok(codes.includes(c), `OPEN carries capability ${c}`);
    }
  });
}

test.run();
