// In-process speakers over real TCP on loopback: each listens on its own 127.0.0.N, port 17901 (our range
// is 17900-17999), so peers are told apart by address as on a real network.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Afi,
  Speaker,
  TcpTransport,
  findRouterMac,
  isPassiveInMesh,
  routerMacCommunity,
  type Prefix,
} from '../src/index.ts';
import { waitFor } from './speaker-helpers.ts';

const PORT = 17901;
const pfx = (addr: string): Prefix => ({ afi: Afi.Ipv4, length: 24, addr });
const hasRoute = (s: Speaker, key: string) => [...s.routes()].some((r) => r.key === key);

function tcpMesh(n: number, holdTime = 90, calicoRule = true): Speaker[] {
  const addrs = Array.from({ length: n }, (_, i) => `127.0.0.${i + 11}`);
  return addrs.map((me) => {
    const s = new Speaker({
      routerId: me,
      holdTime,
      transport: new TcpTransport({ listenAddress: me, port: PORT }),
      backoff: { min: 0.1, max: 0.5 },
    });
    for (const other of addrs)
      if (other !== me)
        s.addPeer({
          address: other,
          as: 64512,
          port: PORT,
          localAddress: me,
          passive: calicoRule && isPassiveInMesh(me, other),
        });
    return s;
  });
}

test('three speakers over loopback TCP converge, exchange and withdraw routes', async () => {
  const ss = tcpMesh(3);
  try {
    for (const s of ss) await s.start();
    await waitFor('sessions', () => ss.every((s) => s.status().every((p) => p.state === 'Established')), 15000);
    // As the agent's vxlan backend will: next hop = underlay address, VTEP MAC in the Router's MAC community.
    ss.forEach((s, i) =>
      s.advertise(pfx(`10.244.${i + 1}.0`), {
        nextHop: `127.0.0.${i + 11}`,
        extendedCommunities: [routerMacCommunity(`02:00:00:00:00:0${i + 1}`)],
      }),
    );
    await waitFor('convergence', () => ss.every((s) => [1, 2, 3].every((i) => hasRoute(s, `10.244.${i}.0/24`))));
    const r = [...ss[0]!.routes()].find((x) => x.key === '10.244.3.0/24')!;
    assert.is(r.nextHop, '127.0.0.13');
    assert.equal(r.attrs.asPath, []); // iBGP: no AS prepended
    assert.is(r.attrs.localPref, 100);
    assert.is(findRouterMac(r.attrs.extendedCommunities), '02:00:00:00:00:03');
    ss[2]!.withdraw(pfx('10.244.3.0'));
    await waitFor('withdrawal', () => !hasRoute(ss[0]!, '10.244.3.0/24') && !hasRoute(ss[1]!, '10.244.3.0/24'));
    // IPv6 unicast rides in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) on the same sessions.
    ss[1]!.advertise('2001:db8:2::/48', { nextHop: '2001:db8::2' });
    await waitFor('IPv6 route', () => hasRoute(ss[0]!, '2001:db8:2::/48') && hasRoute(ss[2]!, '2001:db8:2::/48'));
    assert.is([...ss[0]!.routes()].find((x) => x.key === '2001:db8:2::/48')!.nextHop, '2001:db8::2');
    ss[1]!.withdraw('2001:db8:2::/48');
    await waitFor('IPv6 withdrawal', () => !hasRoute(ss[0]!, '2001:db8:2::/48'));
  } finally {
    for (const s of ss) await s.stop();
  }
});

test('a speaker that goes away is noticed (TCP close) and its routes are withdrawn', async () => {
  const ss = tcpMesh(2);
  try {
    for (const s of ss) await s.start();
    await waitFor('sessions', () => ss.every((s) => s.status()[0]!.state === 'Established'), 15000);
    ss[1]!.advertise(pfx('10.244.9.0'));
    await waitFor('route', () => hasRoute(ss[0]!, '10.244.9.0/24'));
    await ss[1]!.stop();
    await waitFor('withdrawn', () => !hasRoute(ss[0]!, '10.244.9.0/24'));
    assert.not.equal(ss[0]!.status()[0]!.state, 'Established');
  } finally {
    for (const s of ss) await s.stop();
  }
});

test('both sides connecting over TCP: collision resolution leaves one working session per pair', async () => {
  const ss = tcpMesh(3, 90, false);
  try {
    await Promise.all(ss.map((s) => s.start())); // everyone listening, then everyone connecting
    await waitFor('sessions', () => ss.every((s) => s.status().every((p) => p.state === 'Established')), 15000);
    ss[0]!.advertise(pfx('10.244.1.0'));
    await waitFor('route on both others', () => hasRoute(ss[1]!, '10.244.1.0/24') && hasRoute(ss[2]!, '10.244.1.0/24'));
    for (const s of ss) assert.is(s.status().length, 2);
    // Each pair raced two connections; each side closed one with Cease / Connection Collision Resolution.
    for (const s of ss)
      for (const p of s.status()) assert.match(p.lastError ?? '', /Cease\/7/, `${s.cfg.routerId} -> ${p.address}`);
  } finally {
    for (const s of ss) await s.stop();
  }
});

test.run();
