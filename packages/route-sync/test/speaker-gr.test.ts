// Graceful restart (RFC 4724) between in-memory speakers: a crashed peer's routes are kept stale, then either
// refreshed and purged at End-of-RIB when it returns, or purged when its restart time runs out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CapabilityCode, MemoryNetwork, Speaker, type SpeakerConfig } from '../src/index.ts';
import { FakeClock } from '../src/fsm/clock.ts';
import { waitFor } from './speaker-helpers.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function speaker(net: MemoryNetwork, addr: string, over: Partial<SpeakerConfig> = {}): Speaker {
  const s = new Speaker({
    routerId: addr,
    transport: net.transport(addr),
    backoff: { min: 0.05, max: 0.1 },
    jitter: () => 0,
    gracefulRestart: { restartTime: 30 },
    ...over,
  });
  s.addPeer({ address: addr === A ? B : A, as: 64512, passive: addr === A });
  return s;
}

const route = (s: Speaker, key: string) => [...s.routes()].find((r) => r.key === key);
const up = (s: Speaker) => s.status()[0]!.state === 'Established';

test('a crashed peer routes stay (stale) until it returns; End-of-RIB purges what it no longer has', async () => {
  const net = new MemoryNetwork();
  const a = speaker(net, A);
  let b = speaker(net, B);
  await a.start();
  await b.start();
  try {
    b.advertise('10.244.2.0/24');
    b.advertise('10.244.9.0/24');
    await waitFor('routes', () => !!route(a, '10.244.2.0/24') && !!route(a, '10.244.9.0/24'));
    net.crash(B);
    await b.stop();
    await waitFor('stale', () => a.status()[0]!.prefixesStale === 2);
    assert.is(route(a, '10.244.9.0/24')?.stale, true);
    b = speaker(net, B); // the restarted speaker, which now originates only 10.244.2.0/24
    b.advertise('10.244.2.0/24');
    await b.start();
    await waitFor('purged at End-of-RIB', () => up(a) && !route(a, '10.244.9.0/24'));
    assert.is(route(a, '10.244.2.0/24')?.stale, undefined);
    assert.is(a.status()[0]!.prefixesStale, 0);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('stale routes go when the restart time runs out (fake clock)', async () => {
  const net = new MemoryNetwork();
  const clock = new FakeClock();
  const a = speaker(net, A, { clock });
  const b = speaker(net, B);
  await a.start();
  await b.start();
  try {
    b.advertise('10.244.2.0/24');
    await waitFor('route', () => !!route(a, '10.244.2.0/24'));
    net.crash(B);
    await b.stop();
    await waitFor('stale', () => route(a, '10.244.2.0/24')?.stale === true);
    clock.advance(29_000);
    await new Promise((r) => setImmediate(r));
    assert.ok(route(a, '10.244.2.0/24'), 'kept within the restart time');
    clock.advance(1_000);
    await waitFor('purged', () => !route(a, '10.244.2.0/24'));
  } finally {
    await a.stop();
  }
});

test('a peer that stops with a NOTIFICATION gets no graceful restart', async () => {
  const net = new MemoryNetwork();
  const a = speaker(net, A);
  const b = speaker(net, B);
  await a.start();
  await b.start();
  try {
    b.advertise('10.244.2.0/24');
    await waitFor('route', () => !!route(a, '10.244.2.0/24'));
    await b.stop(); // Cease
    await waitFor('withdrawn at once', () => !route(a, '10.244.2.0/24'));
    assert.is(a.status()[0]!.prefixesStale, 0);
  } finally {
    await a.stop();
  }
});

test('a restarting speaker sets the R bit in its OPENs during its restart time only', async () => {
  const clock = new FakeClock();
  const s = new Speaker({
    routerId: A,
    transport: new MemoryNetwork().transport(A),
    clock,
    gracefulRestart: { restartTime: 60, restarting: true },
  });
  s.addPeer({ address: B, as: 64512, passive: true });
  await s.start();
  const rBit = () => {
    const cap = s
      .buildOpen({ address: B, as: 64512 })
      .capabilities.find((c) => c.type === CapabilityCode.GracefulRestart);
    return cap?.type === CapabilityCode.GracefulRestart && cap.restarting;
  };
  assert.is(rBit(), true);
  clock.advance(60_000);
  assert.is(rBit(), false);
  await s.stop();
});

test.run();
