// Speakers talking over the in-memory transport: mesh convergence, withdrawal, collision resolution,
// route reflection, peer removal. (test/speaker-tcp.test.ts runs the same over real TCP.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from './speaker-helpers.ts';
import { Afi, MemoryNetwork, Speaker, isPassiveInMesh, type Prefix, type SpeakerConfig } from '../src/index.ts';

const pfx = (addr: string, length = 24): Prefix => ({ afi: Afi.Ipv4, length, addr });

function speaker(net: MemoryNetwork, addr: string, over: Partial<SpeakerConfig> = {}): Speaker {
  return new Speaker({
    routerId: addr,
    transport: net.transport(addr),
    backoff: { min: 0.05, max: 0.2 },
    jitter: () => 0,
    ...over,
  });
}

const established = (s: Speaker) => s.status().every((p) => p.state === 'Established');
const hasRoute = (s: Speaker, p: Prefix) => [...s.routes()].some((r) => r.key === `${p.addr}/${p.length}`);

/** A full iBGP mesh with Calico's connect rule; every speaker advertises its /24. */
async function mesh(net: MemoryNetwork, addrs: string[], calicoRule = true): Promise<Speaker[]> {
  const speakers = addrs.map((a) => speaker(net, a));
  speakers.forEach((s, i) => {
    for (const other of addrs)
      if (other !== addrs[i])
        s.addPeer({ address: other, as: 64512, passive: calicoRule && isPassiveInMesh(addrs[i]!, other) });
  });
  await Promise.all(speakers.map((s) => s.start())); // all listening before anyone connects
  return speakers;
}

test('a full mesh of four converges, and a withdrawal reaches everyone', async () => {
  const net = new MemoryNetwork();
  const addrs = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const ss = await mesh(net, addrs);
  try {
    await waitFor('sessions', () => ss.every(established));
    ss.forEach((s, i) => s.advertise(pfx(`10.244.${i + 1}.0`), { nextHop: addrs[i]! }));
    await waitFor('convergence', () => ss.every((s) => [1, 2, 3, 4].every((i) => hasRoute(s, pfx(`10.244.${i}.0`)))));
    const viaTwo = [...ss[0]!.routes()].find((r) => r.key === '10.244.2.0/24')!;
    assert.is(viaTwo.nextHop, '192.0.2.2');
    assert.is(ss[0]!.status().find((p) => p.address === '192.0.2.2')!.prefixesReceived, 1);
    assert.is(ss[0]!.status().find((p) => p.address === '192.0.2.2')!.prefixesSent, 1); // split horizon: only our own
    ss[1]!.withdraw(pfx('10.244.2.0'));
    await waitFor('withdrawal', () => ss.every((s) => !hasRoute(s, pfx('10.244.2.0'))));
  } finally {
    for (const s of ss) await s.stop();
  }
});

test('both sides connecting at once: collision detection leaves one session per pair', async () => {
  const net = new MemoryNetwork();
  let connects = 0;
  const count = net.transport.bind(net);
  net.transport = (addr) => {
    const t = count(addr);
    return { ...t, connect: (...a) => (connects++, t.connect(...a)) };
  };
  const ss = await mesh(net, ['192.0.2.1', '192.0.2.2'], false);
  try {
    await waitFor('sessions', () => ss.every(established));
    assert.ok(connects >= 2, `both sides connected (${connects})`);
    for (const s of ss) assert.match(s.status()[0]!.lastError ?? '', /Cease\/7/);
    ss[0]!.advertise(pfx('10.244.1.0'));
    await waitFor('route', () => hasRoute(ss[1]!, pfx('10.244.1.0')));
    for (const s of ss) assert.is(s.status()[0]!.state, 'Established');
  } finally {
    for (const s of ss) await s.stop();
  }
});

test('the route-best change stream reports additions and removals in batches', async () => {
  const net = new MemoryNetwork();
  const ss = await mesh(net, ['192.0.2.1', '192.0.2.2']);
  const ac = new AbortController();
  const seen: string[] = [];
  const reader = (async () => {
    for await (const batch of ss[1]!.routeChanges(ac.signal))
      for (const c of batch) seen.push(`${c.best ? '+' : '-'}${c.key}`);
  })();
  try {
    await waitFor('sessions', () => ss.every(established));
    for (let i = 0; i < 50; i++) ss[0]!.advertise(pfx(`10.${i}.0.0`, 16));
    await waitFor('50 routes', () => seen.length === 50);
    ss[0]!.withdraw(pfx('10.7.0.0', 16));
    await waitFor('withdrawal event', () => seen.includes('-10.7.0.0/16'));
  } finally {
    ac.abort();
    await reader;
    for (const s of ss) await s.stop();
  }
});

test('route reflector: clients learn each other routes without a full mesh, with RR attributes', async () => {
  const net = new MemoryNetwork();
  const rr = speaker(net, '192.0.2.100');
  const c1 = speaker(net, '192.0.2.1');
  const c2 = speaker(net, '192.0.2.2');
  rr.addPeer({ address: '192.0.2.1', as: 64512, routeReflectorClient: true, passive: true });
  rr.addPeer({ address: '192.0.2.2', as: 64512, routeReflectorClient: true, passive: true });
  c1.addPeer({ address: '192.0.2.100', as: 64512 });
  c2.addPeer({ address: '192.0.2.100', as: 64512 });
  const all = [rr, c1, c2];
  for (const s of all) await s.start();
  try {
    await waitFor('sessions', () => all.every(established));
    c1.advertise(pfx('10.244.1.0'), { nextHop: '192.0.2.1' });
    await waitFor('reflection', () => hasRoute(c2, pfx('10.244.1.0')));
    const r = [...c2.routes()][0]!;
    assert.is(r.nextHop, '192.0.2.1');
    assert.is(r.attrs.originatorId, '192.0.2.1');
    assert.equal(r.attrs.clusterList, ['192.0.2.100']);
  } finally {
    for (const s of all) await s.stop();
  }
});

test('removing or stopping a peer withdraws its routes and reports the error', async () => {
  const net = new MemoryNetwork();
  const ss = await mesh(net, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  try {
    await waitFor('sessions', () => ss.every(established));
    ss[2]!.advertise(pfx('10.244.3.0'));
    await waitFor('route', () => hasRoute(ss[0]!, pfx('10.244.3.0')));
    await ss[2]!.stop(); // Cease to everyone: no graceful restart after a NOTIFICATION
    await waitFor('withdrawn', () => !hasRoute(ss[0]!, pfx('10.244.3.0')) && !hasRoute(ss[1]!, pfx('10.244.3.0')));
    const st = ss[0]!.status().find((p) => p.address === '192.0.2.3')!;
    assert.match(st.lastError ?? '', /NotificationReceived.*Cease/);
    ss[0]!.removePeer('192.0.2.3');
    assert.is(ss[0]!.status().length, 1);
  } finally {
    for (const s of ss) await s.stop();
  }
});

test('eBGP: our AS is prepended, the next hop is ours, and a route with our AS in its path is refused', async () => {
  const net = new MemoryNetwork();
  const a = speaker(net, '198.51.100.1', { localAs: 65001 });
  const b = speaker(net, '198.51.100.2', { localAs: 65002 });
  a.addPeer({ address: '198.51.100.2', as: 65002, localAddress: '198.51.100.1' });
  b.addPeer({ address: '198.51.100.1', as: 65001, passive: true });
  await a.start();
  await b.start();
  try {
    await waitFor('session', () => established(a) && established(b));
    a.advertise('10.1.0.0/16', { localPref: 300 });
    a.advertise('10.2.0.0/16', { asPath: [{ type: 2, asns: [65002] }] }); // b must see itself in the path
    await waitFor('route', () => hasRoute(b, pfx('10.1.0.0', 16)));
    const r = [...b.routes()].find((x) => x.key === '10.1.0.0/16')!;
    assert.equal(r.attrs.asPath, [{ type: 2, asns: [65001] }]);
    assert.is(r.nextHop, '198.51.100.1');
    assert.is(r.attrs.localPref, undefined); // LOCAL_PREF does not cross AS borders
    assert.is(r.source.ibgp, false);
    assert.not.ok(hasRoute(b, pfx('10.2.0.0', 16)));
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('settings the protocol forbids are refused with BgpConfigError', () => {
  const net = new MemoryNetwork();
  assert.throws(
    () => speaker(net, '0.0.0.0'),
    (e: Error) => e.name === 'BgpConfigError',
  );
  assert.throws(
    () => speaker(net, '192.0.2.1', { holdTime: 2 }),
    (e: Error) => e.name === 'BgpConfigError',
  );
  const s = speaker(net, '192.0.2.1');
  s.addPeer({ address: '192.0.2.2', as: 64512 });
  assert.throws(
    () => s.addPeer({ address: '192.0.2.2', as: 64512 }),
    (e: Error) => e.name === 'BgpConfigError',
  );
  assert.throws(
    () => s.addPeer({ address: '192.0.2.3', as: 0 }),
    (e: Error) => e.name === 'BgpConfigError',
  );
  assert.throws(() => s.advertise('10.0.0.0/33'), TypeError);
});

test.run();
