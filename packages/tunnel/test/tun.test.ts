// A real TUN device in a test namespace: the TUN contract, ping answered from JS, device errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import {
  BadNameError,
  DeviceBusyError,
  PacketBatch,
  configureLink,
  forward,
  openTun,
  openUdp,
  type TunDevice,
} from '../src/index.ts';
import { tunCompliance } from './compliance.ts';
import { quietNamespace } from './lab.ts';
import { udp4, waitFor } from './packets.ts';

const HOST = '10.244.9.1';
const DEVICE_SIDE = '10.244.9.2';

if (canRunWith('tunnel: real TUN device', ['ip', 'ping'])) {
  tunCompliance('TunDevice', async () => {
    const { scope, ns } = await quietNamespace('tun-dev');
    const tun = openTun({ name: 'flannel0', netns: ns.name, batchSize: 8 });
    await configureLink(tun.name, { mtu: 1500, addresses: [`${HOST}/24`] }, ns.name);
    const host = openUdp({ address: HOST, port: 7001, netns: ns.name, gso: false, gro: false });
    host.addPeer(0, DEVICE_SIDE, 7000);
    const rb = new PacketBatch(64);
    return {
      tun,
      mtu: 1500,
      async hostSend(payloads) {
        const b = new PacketBatch(payloads.length);
        payloads.forEach((p, i) => b.set(i, p, 0, 0));
        b.count = payloads.length;
        assert.is(host.write(b), payloads.length);
      },
      packetToHost: (p, id) => udp4(DEVICE_SIDE, HOST, 7000, 7001, p, id),
      async hostReceived() {
        const out: Uint8Array[] = [];
        for (let n = host.read(rb, 0); n > 0; n = host.read(rb, 0))
          for (let i = 0; i < n; i++) out.push(rb.packet(i).slice());
        return out;
      },
      async close() {
        host.close();
        tun.close();
        await scope.cleanup();
      },
    };
  });

  test('ping from the namespace is answered from JS through the forwarding loop; payload bytes identical', async () => {
    const { scope, ns } = await quietNamespace('tun-ping');
    let tun: TunDevice | undefined;
    try {
      tun = openTun({ netns: ns.name });
      await configureLink(tun.name, { mtu: 1500, addresses: [`${HOST}/24`] }, ns.name);
      const payloads: Uint8Array[] = [];
      const fwd = forward({
        from: tun,
        to: tun,
        onBatch(slab, offsets, lengths, peers, count, replies) {
          for (let i = 0; i < count; i++) {
            const o = offsets[i]!;
            if (slab[o] !== 0x45 || slab[o + 9] !== 1 || slab[o + 20] !== 8) continue; // IPv4 ICMP echo request
            payloads.push(slab.slice(o + 28, o + lengths[i]!));
            const src = slab.slice(o + 12, o + 16);
            slab.copyWithin(o + 12, o + 16, o + 20);
            slab.set(src, o + 16);
            slab[o + 20] = 0; // echo reply; checksum += 0x0800 (RFC 1624)
            let c = ((slab[o + 22]! << 8) | slab[o + 23]!) + 0x0800;
            c = (c & 0xffff) + (c >> 16);
            slab[o + 22] = c >> 8;
            slab[o + 23] = c & 0xff;
            replies[i] = 1;
            peers[i] = 0;
          }
        },
      });
      const r = await ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1400', '-p', 'a5', DEVICE_SIDE], {
        allowFailure: true,
      });
      fwd.stop();
      assert.match(r.stdout, /3 received/, r.stdout + r.stderr);
      assert.is(payloads.length, 3);
      for (const p of payloads) {
        assert.is(p.length, 1400);
        assert.ok(
          p.subarray(16).every((b) => b === 0xa5),
          'ping -p a5 pattern after the 16-byte timestamp',
        );
      }
      assert.is(fwd.counters.replies, 3);
    } finally {
      tun?.close();
      await scope.cleanup();
    }
  });

  test('a second open of a single-queue device is DeviceBusyError; multi-queue attaches', async () => {
    const { scope, ns } = await quietNamespace('tun-busy');
    try {
      const first = openTun({ name: 'tun-busy0', netns: ns.name });
      try {
        assert.throws(
          () => openTun({ name: 'tun-busy0', netns: ns.name }),
          (e: Error) => e instanceof DeviceBusyError && /close it/.test(e.message),
        );
      } finally {
        first.close();
      }
      const q1 = openTun({ name: 'tun-mq0', netns: ns.name, multiQueue: true });
      const q2 = openTun({ name: 'tun-mq0', netns: ns.name, multiQueue: true });
      assert.is(q2.name, q1.name);
      q1.close();
      q2.close();
    } finally {
      await scope.cleanup();
    }
  });

  test('bad names are BadNameError before any system call', () => {
    for (const name of ['x'.repeat(16), 'a/b', 'a b', 'a:b', '', '..']) {
      assert.throws(
        () => openTun({ name }),
        (e: Error) => e instanceof BadNameError,
        name,
      );
    }
  });

  test('an IPv6 packet and an IPv4 packet written in one batch both leave the device (counted)', async () => {
    const { scope, ns } = await quietNamespace('tun-stats');
    try {
      const tun = openTun({ netns: ns.name });
      await configureLink(tun.name, { mtu: 1500, addresses: [`${HOST}/24`] }, ns.name);
      const b = new PacketBatch(2);
      b.set(0, udp4(DEVICE_SIDE, HOST, 1, 9, new Uint8Array(10)), 80, 0);
      b.set(1, new Uint8Array([0x60, 0, 0, 0, 0, 0, 59, 64, ...new Array(32).fill(0)]), 80, 0);
      b.count = 2;
      assert.is(tun.write(b), 2);
      assert.ok(await waitFor(() => tun.stats().txPackets + tun.stats().txErrors === 2));
      tun.close();
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
