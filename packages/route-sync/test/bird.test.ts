// Interop with BIRD 2 (the daemon Calico runs): iBGP AS 64512 between BIRD in one namespace and a weft speaker
// in another. Session up, routes both ways, withdrawals both ways, hold-timer detection of a frozen BIRD,
// graceful restart (stale routes kept until End-of-RIB), 10,000 prefixes learned, and only the negotiated family
// (BIRD's channel here is IPv4 only) on the wire.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { BirdLab, BIRD_IP, WEFT_IP, manyPrefixes } from './bird-lab.ts';
import { waitFor } from './speaker-helpers.ts';

interface WeftRoute {
  key: string;
  nextHop: string;
  stale: boolean;
}
interface WeftPeer {
  state: string;
  families: string[];
  lastError: string | null;
  prefixesStale: number;
  prefixesReceived: number;
}

if (canRunWith('bird interop', ['bird', 'birdc'])) {
  const lab = new BirdLab('bgps-bird');
  const routes = async () => lab.weft<WeftRoute[]>({ cmd: 'routes' });
  const has = async (key: string) => (await routes()).some((r) => r.key === key);
  const peer = async () => (await lab.weft<WeftPeer[]>({ cmd: 'status' }))[0]!;
  const birdRoutes = async () => lab.birdc(['show', 'route', 'protocol', 'weft']);
  const established = async () =>
    (await peer()).state === 'Established' && /Established/.test(await lab.birdc(['show', 'protocols', 'weft']));

  test.before(async () => {
    await lab.setup();
    await lab.startBird({ routes: ['10.200.1.0/24', '10.200.2.0/24'], extra: ['10.201.0.0/24'] });
    // An IPv6 next hop, so weft has IPv6 routes it could send: BIRD's channel is IPv4 only, so it must not.
    await lab.startWeft({
      watchCount: 10_000,
      peers: [{ address: BIRD_IP, as: 64512, localAddress: WEFT_IP, nextHops: { ipv6: '2001:db8:ff::2' } }],
    });
  });
  test.after(async () => {
    await lab.cleanup();
  });

  test('the session reaches Established and routes flow both ways', async () => {
    await waitFor('Established on both sides', established, 30_000);
    await lab.weft({ cmd: 'advertise', prefix: '10.244.2.0/24', nextHop: WEFT_IP });
    await lab.weft({ cmd: 'advertise', prefix: '10.244.3.0/24', nextHop: WEFT_IP });
    await waitFor(
      'weft prefixes in birdc show route',
      async () =>
        /10\.244\.2\.0\/24[\s\S]*10\.244\.3\.0\/24|10\.244\.3\.0\/24[\s\S]*10\.244\.2\.0\/24/.test(await birdRoutes()),
      15_000,
    );
    assert.match(await birdRoutes(), new RegExp(`via ${WEFT_IP.replace(/\./g, '\\.')}`));
    await waitFor(
      'BIRD prefixes in weft',
      async () => (await has('10.200.1.0/24')) && (await has('10.201.0.0/24')),
      15_000,
    );
    const r = (await routes()).find((x) => x.key === '10.200.2.0/24')!;
    assert.is(r.nextHop, BIRD_IP);
  });

  test('IPv4-only BIRD channel: the session negotiates IPv4 only; no IPv6 UPDATE, End-of-RIB or ROUTE-REFRESH leaves weft', async () => {
    await lab.weft({ cmd: 'advertise', prefix: '2001:db8:2::/64' });
    assert.equal((await peer()).families, ['ipv4']);
    assert.equal(await lab.weft({ cmd: 'refresh', address: BIRD_IP }), [1]);
    await waitFor(
      'BIRD answers the refresh',
      async () => (await has('10.200.1.0/24')) && (await peer()).state === 'Established',
      5_000,
    );
    const sent = await lab.weft<Record<string, number>>({ cmd: 'sent' });
    assert.ok((sent['update:1'] ?? 0) >= 2, JSON.stringify(sent)); // our routes and the IPv4 End-of-RIB
    assert.is(sent['refresh:1'], 1);
    assert.equal(
      Object.keys(sent).filter((k) => k.endsWith(':2')),
      [],
      `weft sent IPv6: ${JSON.stringify(sent)}`,
    );
    assert.not.match(await lab.birdc(['show', 'route', 'protocol', 'weft']), /2001:db8/);
  });

  test('withdrawals go both ways', async () => {
    await lab.weft({ cmd: 'withdraw', prefix: '10.244.3.0/24' });
    await waitFor('BIRD drops 10.244.3.0/24', async () => !(await birdRoutes()).includes('10.244.3.0/24'), 15_000);
    assert.ok((await birdRoutes()).includes('10.244.2.0/24'));
    await lab.birdc(['disable', 's_extra']);
    await waitFor('weft drops 10.201.0.0/24', async () => !(await has('10.201.0.0/24')), 15_000);
    assert.ok(await has('10.200.1.0/24'));
  });

  test('a frozen BIRD is detected by the hold timer and its routes are withdrawn', async () => {
    lab.signalBird('SIGSTOP'); // no KEEPALIVEs any more, but the TCP connection stays open
    try {
      await waitFor('hold timer expiry', async () => !(await has('10.200.1.0/24')), 30_000);
      assert.match((await peer()).lastError ?? '', /HoldTimerExpired/);
    } finally {
      lab.signalBird('SIGCONT');
    }
    await lab.birdc(['down']); // Cease, then exit
    await lab.birdGone();
  });

  test('graceful restart: weft keeps BIRD routes stale until End-of-RIB, then purges the missing one', async () => {
    await lab.startBird({ routes: ['10.200.1.0/24', '10.200.2.0/24'], gracefulRestart: true });
    await waitFor('Established again', established, 30_000);
    await waitFor('routes', async () => (await has('10.200.1.0/24')) && (await has('10.200.2.0/24')), 15_000);
    await lab.birdc(['graceful', 'restart']); // exits without NOTIFICATION, forwarding state "preserved"
    await lab.birdGone();
    await waitFor('routes marked stale', async () => (await peer()).prefixesStale === 2, 20_000);
    const kept = await routes();
    assert.ok(kept.find((r) => r.key === '10.200.2.0/24')?.stale, 'stale route still installed');
    await lab.startBird({ routes: ['10.200.1.0/24'], gracefulRestart: true }, true); // restarted without 10.200.2.0/24
    await waitFor('stale route purged at End-of-RIB', async () => !(await has('10.200.2.0/24')), 30_000);
    const after = await routes();
    assert.is(after.find((r) => r.key === '10.200.1.0/24')?.stale, false);
    assert.is((await peer()).prefixesStale, 0);
  });

  test('weft as the restarting speaker: BIRD keeps its routes until weft sends End-of-RIB', async () => {
    await lab.birdc(['down']);
    await lab.birdGone();
    await lab.startBird({ routes: ['10.200.1.0/24'], gracefulRestart: true });
    await waitFor('Established again', established, 30_000);
    await lab.weft({ cmd: 'advertise', prefix: '10.244.4.0/24', nextHop: WEFT_IP });
    await waitFor(
      'BIRD has both weft routes',
      async () => {
        const out = await birdRoutes();
        return out.includes('10.244.2.0/24') && out.includes('10.244.4.0/24');
      },
      15_000,
    );
    lab.worker!.child.kill('SIGKILL'); // weft dies without a NOTIFICATION; the kernel closes its socket
    await lab.worker!.exited;
    await waitFor(
      'BIRD notices',
      async () => !/Established/.test(await lab.birdc(['show', 'protocols', 'weft'])),
      20_000,
    );
    const during = await birdRoutes();
    assert.ok(
      during.includes('10.244.2.0/24') && during.includes('10.244.4.0/24'),
      `BIRD kept weft's routes (helper):\n${during}`,
    );
    // weft comes back with only 10.244.2.0/24: after its End-of-RIB, BIRD must drop 10.244.4.0/24.
    await lab.startWeft({ watchCount: 10_000, advertise: [{ prefix: '10.244.2.0/24', nextHop: WEFT_IP }] });
    await waitFor('Established after weft restart', established, 30_000);
    await waitFor(
      'BIRD purges the route weft no longer has',
      async () => !(await birdRoutes()).includes('10.244.4.0/24'),
      20_000,
    );
    assert.ok((await birdRoutes()).includes('10.244.2.0/24'));
  });

  test('10,000 prefixes from BIRD are learned', async () => {
    await lab.birdc(['down']);
    await lab.birdGone();
    await waitFor(
      'old routes withdrawn',
      async () => (await lab.weft<{ routes: number }>({ cmd: 'count' })).routes === 0,
      20_000,
    );
    await lab.startBird({ routes: manyPrefixes(10_000) });
    await waitFor(
      '10,000 routes in weft',
      async () => (await lab.weft<{ routes: number }>({ cmd: 'count' })).routes === 10_000,
      60_000,
    );
    const all = await routes();
    for (const key of ['10.128.0.0/24', '10.167.15.0/24', '10.150.7.0/24'])
      assert.ok(
        all.some((r) => r.key === key && r.nextHop === BIRD_IP),
        key,
      );
    const t = await lab.weft<{ ms: number | null }>({ cmd: 'timing' });
    console.log(`  (figure) 10,000 prefixes learned ${t.ms?.toFixed(0)} ms after Established`);
  });
}

test.run();
