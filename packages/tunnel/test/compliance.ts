// One contract suite for TUN-like and UDP-like ports, run against the real devices (in namespaces) and the
// in-memory fakes, so the fakes can be trusted in other packages' tests.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PacketBatch, type PacketPort } from '../src/index.ts';
import { pattern, sleep, udpPayload, waitFor } from './packets.ts';

export interface TunHarness {
  tun: PacketPort;
  mtu: number;
  /** The host side (the kernel, or the fake's test hook) sends these UDP payloads into the device. */
  hostSend(payloads: Uint8Array[]): Promise<void>;
  /** Builds an IPv4/UDP packet that, written to the device, reaches the host side's socket. */
  packetToHost(payload: Uint8Array, id: number): Uint8Array;
  /** Payloads received by the host side since the last call. */
  hostReceived(): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

const HEADROOM = 80;

/** Reads from the port until `want` UDP packets arrived (other packets are ignored) or 3 s passed. */
async function readUdp(tun: PacketPort, batch: PacketBatch, want: number, counts?: number[]): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await waitFor(() => {
    const n = tun.read(batch, HEADROOM);
    if (n > 0) counts?.push(n);
    for (let i = 0; i < n; i++) {
      assert.is(batch.offsets[i], i * batch.slotSize + HEADROOM, 'packet i sits at slot i + headroom');
      const p = udpPayload(batch.packet(i));
      if (p) got.push(p.slice());
    }
    return got.length >= want;
  });
  return got;
}

export function tunCompliance(name: string, setup: () => Promise<TunHarness>): void {
  const t = suite<{ h?: TunHarness }>(`${name}: TUN contract`, {});
  t.before(async (ctx) => {
    ctx.h = await setup();
  });
  t.after(async (ctx) => {
    await ctx.h?.close();
  });

  t('read on an empty device returns 0 (EAGAIN is not an error)', ({ h }) => {
    assert.is(h!.tun.read(new PacketBatch(4), HEADROOM), 0);
  });

  for (const k of [1, 'N', 'N+1'] as const) {
    t(`bytes sent by the host arrive in JS identical: batch of ${k}`, async ({ h }) => {
      const N = h!.tun.batchSize;
      const count = k === 1 ? 1 : k === 'N' ? N : N + 1;
      const payloads = Array.from({ length: count }, (_, i) => pattern(100 + i, 1000 + i));
      await h!.hostSend(payloads);
      const counts: number[] = [];
      const got = await readUdp(h!.tun, new PacketBatch(N), count, counts);
      assert.is(got.length, count);
      got.forEach((p, i) => assert.equal(p, payloads[i], `payload ${i}`));
      assert.ok(Math.max(...counts) <= N, 'a read never returns more than batchSize');
      if (count === N + 1) assert.ok(counts.length >= 2, 'N+1 packets need two reads');
    });

    t(`bytes written from JS arrive at the host identical: batch of ${k}`, async ({ h }) => {
      const N = h!.tun.batchSize;
      const count = k === 1 ? 1 : k === 'N' ? N : N + 1;
      const batch = new PacketBatch(count);
      const payloads = Array.from({ length: count }, (_, i) => pattern(60 + i, 2000 + i));
      payloads.forEach((p, i) => batch.set(i, h!.packetToHost(p, i + 1), HEADROOM, 0));
      batch.count = count;
      assert.is(h!.tun.write(batch), count);
      const got: Uint8Array[] = [];
      await sleep(50);
      for (let tries = 0; tries < 30 && got.length < count; tries++) {
        got.push(...(await h!.hostReceived()));
        if (got.length < count) await sleep(20);
      }
      assert.is(got.length, count);
      got.forEach((p, i) => assert.equal(p, payloads[i], `payload ${i}`));
    });
  }

  t('packets of the full MTU pass both ways', async ({ h }) => {
    const payload = pattern(h!.mtu - 28, 77);
    await h!.hostSend([payload]);
    const got = await readUdp(h!.tun, new PacketBatch(4), 1);
    assert.equal(got[0], payload);
    const batch = new PacketBatch(1);
    batch.set(0, h!.packetToHost(payload, 9), HEADROOM, 0);
    batch.count = 1;
    assert.is(h!.tun.write(batch), 1);
    let back: Uint8Array[] = [];
    await sleep(50);
    for (let tries = 0; tries < 30 && back.length === 0; tries++) {
      back = await h!.hostReceived();
      if (!back.length) await sleep(20);
    }
    assert.equal(back[0], payload);
  });

  t('write skips packets whose peer gate is negative', async ({ h }) => {
    const batch = new PacketBatch(3);
    for (let i = 0; i < 3; i++) batch.set(i, h!.packetToHost(pattern(50, 300 + i), 40 + i), HEADROOM, i === 1 ? -1 : 0);
    batch.count = 3;
    assert.is(h!.tun.write(batch), 3);
    await sleep(50);
    const got = await h!.hostReceived();
    assert.equal(got, [pattern(50, 300), pattern(50, 302)]);
  });

  t.run();
}

export interface UdpLike extends PacketPort {
  addPeer(index: number, address: string, port: number): void;
  sourceOf(i: number): { address: string; port: number } | null;
}

export interface UdpHarness {
  a: UdpLike;
  b: UdpLike;
  /** A third socket that b does not know. */
  c: UdpLike;
  addrA: { address: string; port: number };
  addrB: { address: string; port: number };
  addrC: { address: string; port: number };
  close(): Promise<void>;
}

async function readAll(
  port: PacketPort,
  want: number,
): Promise<{ data: Uint8Array[]; peers: number[]; slots: number[] }> {
  const batch = new PacketBatch(port.batchSize);
  const out = { data: [] as Uint8Array[], peers: [] as number[], slots: [] as number[] };
  await waitFor(() => {
    const n = port.read(batch, HEADROOM);
    for (let i = 0; i < n; i++) {
      out.data.push(batch.packet(i).slice());
      out.peers.push(batch.peers[i]!);
      out.slots.push(i);
    }
    return out.data.length >= want;
  });
  await sleep(30);
  out.data.push(...Array.from({ length: port.read(batch, HEADROOM) }, (_, i) => batch.packet(i).slice())); // extras
  return out;
}

export function udpCompliance(name: string, setup: () => Promise<UdpHarness>): void {
  const t = suite<{ h?: UdpHarness }>(`${name}: UDP contract`, {});
  t.before(async (ctx) => {
    const h = await setup();
    h.a.addPeer(0, h.addrB.address, h.addrB.port);
    h.b.addPeer(5, h.addrA.address, h.addrA.port);
    h.c.addPeer(0, h.addrB.address, h.addrB.port);
    ctx.h = h;
  });
  t.after(async (ctx) => {
    await ctx.h?.close();
  });

  for (const k of [1, 'N', 'N+1', '3N'] as const) {
    t(`every datagram of a batch of ${k} arrives once, with the sender's peer index`, async ({ h }) => {
      const N = h!.a.batchSize;
      const count = k === 1 ? 1 : k === 'N' ? N : k === 'N+1' ? N + 1 : 3 * N;
      const batch = new PacketBatch(count);
      // equal sizes in runs (so GSO can group them) with a shorter tail, each payload distinct
      const payloads = Array.from({ length: count }, (_, i) => pattern(i === count - 1 ? 700 : 1200, 5000 + i));
      payloads.forEach((p, i) => batch.set(i, p, HEADROOM, 0));
      batch.count = count;
      assert.is(h!.a.write(batch), count);
      const got = await readAll(h!.b, count);
      assert.is(got.data.length, count, 'each datagram exactly once');
      got.data.forEach((d, i) => assert.equal(d, payloads[i], `datagram ${i}`));
      assert.ok(
        got.peers.every((p) => p === 5),
        'source peer index',
      );
    });
  }

  t('a datagram from an unregistered address reads as peer -1, with its address', async ({ h }) => {
    const batch = new PacketBatch(1);
    batch.set(0, pattern(64, 9), 0, 0);
    batch.count = 1;
    assert.is(h!.c.write(batch), 1);
    const rb = new PacketBatch(4);
    let n = 0;
    await waitFor(() => (n = h!.b.read(rb, HEADROOM)) > 0);
    assert.is(n, 1);
    assert.is(rb.peers[0], -1);
    assert.equal(h!.b.sourceOf(0), h!.addrC);
    assert.equal(rb.packet(0), pattern(64, 9));
  });

  t('packets with a negative peer are not sent', async ({ h }) => {
    const batch = new PacketBatch(2);
    batch.set(0, pattern(30, 1), 0, -1);
    batch.set(1, pattern(30, 2), 0, 0);
    batch.count = 2;
    assert.is(h!.a.write(batch), 2);
    const got = await readAll(h!.b, 1);
    assert.equal(got.data, [pattern(30, 2)]);
  });

  t('read with nothing waiting returns 0', ({ h }) => {
    assert.is(h!.b.read(new PacketBatch(4), HEADROOM), 0);
  });

  t.run();
}
