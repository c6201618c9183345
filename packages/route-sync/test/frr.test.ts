// Interop with FRR (Debian's frr; bgpd and zebra only, started here in a namespace): iBGP AS 64512 with a weft
// speaker, keepalive 3 s / hold 9 s. FRR resets a session on an UPDATE of a family it did not negotiate, so
// these are the tests of "only negotiated families, ever": an IPv4-only session (FRR's default) stays up through
// many keepalives and both End-of-RIBs, a dual-stack session over IPv4 (Calico's way) and an IPv6-only session
// carry routes both ways into FRR's kernel table, and graceful restart is exchanged (FRR's default and on).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { FRR_IP, FRR_IP6, FrrLab, WEFT_IP, WEFT_IP6, type FrrOptions } from './frr-lab.ts';
import { waitFor } from './speaker-helpers.ts';

interface WeftPeer {
  state: string;
  lastError: string | null;
  families: string[];
  prefixesReceived: number;
  prefixesIgnored: number;
  uptimeSeconds: number;
}
interface WeftRoute {
  key: string;
  nextHop: string;
}
const NETWORKS = ['10.244.201.0/24', '2001:db8:201::/64'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const esc = (t: string) => t.replace(/[.]/g, '\\.');

if (canRunWith('frr interop', ['vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'])) {
  const lab = new FrrLab('h6-frr');
  const peer = async () => (await lab.weft<WeftPeer[]>({ cmd: 'status' }))[0]!;
  const weftRoutes = async () => lab.weft<WeftRoute[]>({ cmd: 'routes' });
  /** FRR's view of the weft neighbour (`show bgp neighbors X json`). */
  const frrNeighbor = async (addr: string) => (await lab.json(`show bgp neighbors ${addr} json`))?.[addr] ?? null;
  /** zebra installed `prefix` via `via` in FRR's namespace (`ip route` prints an nhid before the gateway). */
  const inKernel = async (prefix: string, via: string) =>
    new RegExp(`^${esc(prefix)} (nhid \\d+ )?via ${esc(via)} `, 'm').test(
      await lab.kernelRoutes(prefix.includes(':') ? 6 : 4),
    );
  const established = async (addr: string) =>
    (await peer()).state === 'Established' && (await frrNeighbor(addr))?.bgpState === 'Established';

  /** One scenario: FRR with `o`, weft peering from `weftCfg`; runs `body`; stops both. */
  async function scenario(
    o: FrrOptions,
    weftPeer: Record<string, unknown>,
    body: (addr: string) => Promise<void>,
  ): Promise<void> {
    await lab.startFrr(o);
    await lab.startWeft({
      routerId: WEFT_IP,
      listenAddress: '::',
      holdTime: 9,
      peers: [{ as: 64512, ...weftPeer } as never],
    });
    try {
      await waitFor('Established on both sides', () => established(o.neighbor), 30_000);
      await body(o.neighbor);
    } catch (e) {
      console.log(
        `--- FRR: ${await lab.vtysh('bgpd', 'show bgp ipv4 unicast')}\n${await lab.vtysh('bgpd', 'show bgp ipv6 unicast')}`,
      );
      console.log(
        `--- zebra: ${await lab.vtysh('zebra', 'show ip route')}\n${await lab.vtysh('zebra', 'show ipv6 route')}`,
      );
      console.log(
        `--- kernel: ${(await lab.frrNs.ip(['route'])).stdout}\n${(await lab.frrNs.ip(['-6', 'route'])).stdout}`,
      );
      console.log(`--- weft log:\n${lab.worker?.log().slice(-3000)}`);
      throw e;
    } finally {
      await lab.stopWeft();
      await lab.stopFrr();
    }
  }

  /** Checks the session stayed up for `seconds` (several 3 s keepalives): one establishment, no NOTIFICATION. */
  async function staysUp(addr: string, seconds: number): Promise<void> {
    const n0 = await frrNeighbor(addr);
    await sleep(seconds * 1000);
    const n = await frrNeighbor(addr);
    assert.is(n?.bgpState, 'Established');
    assert.is(n?.connectionsEstablished, n0?.connectionsEstablished, 'no re-establishment');
    assert.is(n?.connectionsDropped ?? 0, 0, 'FRR dropped the session');
    assert.ok(
      (n?.messageStats?.keepalivesRecv ?? 0) >= (n0?.messageStats?.keepalivesRecv ?? 0) + Math.floor(seconds / 3) - 1,
      'keepalives kept flowing',
    );
    assert.is(n?.messageStats?.notificationsRecv ?? 0, 0, 'weft sent no NOTIFICATION');
    const p = await peer();
    assert.is(p.state, 'Established');
    assert.ok(p.uptimeSeconds >= seconds, `weft uptime ${p.uptimeSeconds}`);
  }

  test.before(async () => {
    await lab.setup(NETWORKS);
  });
  test.after(async () => {
    await lab.cleanup();
  });

  test('IPv4-only session (FRR default): up for 2 minutes of keepalives, End-of-RIB and route changes, IPv4 routes both ways, nothing IPv6 sent', async () => {
    const o: FrrOptions = { neighbor: WEFT_IP, families: ['ipv4'], networks: NETWORKS };
    await scenario(o, { address: FRR_IP, localAddress: WEFT_IP, nextHops: { ipv6: WEFT_IP6 } }, async (addr) => {
      await lab.weft({ cmd: 'advertise', prefix: '10.244.2.0/24' });
      await lab.weft({ cmd: 'advertise', prefix: '2001:db8:2::/64' });
      await waitFor('FRR installs weft route in the kernel', () => inKernel('10.244.2.0/24', WEFT_IP), 20_000);
      await waitFor(
        'weft learns FRR route',
        async () => (await weftRoutes()).some((r) => r.key === '10.244.201.0/24' && r.nextHop === FRR_IP),
        20_000,
      );
      // Minutes, with routes flowing: an announcement and a withdrawal in the middle; every IPv4 UPDATE is answered,
      // and the IPv6 prefix weft holds is never sent.
      await staysUp(addr, 60);
      await lab.weft({ cmd: 'advertise', prefix: '10.244.3.0/24' });
      await waitFor('FRR installs the new route', () => inKernel('10.244.3.0/24', WEFT_IP), 20_000);
      await lab.weft({ cmd: 'withdraw', prefix: '10.244.2.0/24' });
      await waitFor('FRR removes the withdrawn route', async () => !(await inKernel('10.244.2.0/24', WEFT_IP)), 20_000);
      await staysUp(addr, 60);
      assert.equal((await peer()).families, ['ipv4']);
      const sent = await lab.weft<Record<string, number>>({ cmd: 'sent' });
      assert.equal(
        Object.keys(sent).filter((k) => k.endsWith(':2')),
        [],
        `weft sent IPv6: ${JSON.stringify(sent)}`,
      );
      const n = await frrNeighbor(addr);
      assert.is(
        n?.gracefulRestartInfo?.ipv4Unicast?.endOfRibStatus?.endOfRibRecv,
        true,
        'FRR received our IPv4 End-of-RIB',
      );
      assert.is(n?.neighborCapabilities?.gracefulRestart, 'advertisedAndReceived');
      assert.not.ok((await lab.kernelRoutes(6)).includes('2001:db8:2::'));
      // ROUTE-REFRESH from weft: IPv4 only; FRR answers by sending its IPv4 routes again, session unharmed.
      assert.equal(await lab.weft({ cmd: 'refresh', address: FRR_IP }), [1]);
      await staysUp(addr, 4);
    });
  });

  test('dual-stack over an IPv4 session, FRR with graceful-restart on: both families both ways into the kernel', async () => {
    const o: FrrOptions = { neighbor: WEFT_IP, families: ['ipv4', 'ipv6'], networks: NETWORKS, gracefulRestart: true };
    await scenario(o, { address: FRR_IP, localAddress: WEFT_IP, nextHops: { ipv6: WEFT_IP6 } }, async (addr) => {
      await lab.weft({ cmd: 'advertise', prefix: '10.244.4.0/24' });
      await lab.weft({ cmd: 'advertise', prefix: '2001:db8:4::/64' });
      await waitFor('FRR kernel IPv4 route', () => inKernel('10.244.4.0/24', WEFT_IP), 20_000);
      await waitFor('FRR kernel IPv6 route', () => inKernel('2001:db8:4::/64', WEFT_IP6), 20_000);
      await waitFor(
        'weft learns both',
        async () => {
          const rs = await weftRoutes();
          return rs.some((r) => r.key === '10.244.201.0/24') && rs.some((r) => r.key === '2001:db8:201::/64');
        },
        20_000,
      );
      const v6 = (await weftRoutes()).find((r) => r.key === '2001:db8:201::/64')!;
      assert.is(v6.nextHop, FRR_IP6);
      assert.equal((await peer()).families, ['ipv4', 'ipv6']);
      const n = await frrNeighbor(addr);
      assert.is(n?.neighborCapabilities?.gracefulRestart, 'advertisedAndReceived');
      assert.is(
        n?.gracefulRestartInfo?.ipv6Unicast?.endOfRibStatus?.endOfRibRecv,
        true,
        'FRR received our IPv6 End-of-RIB',
      );
      const v6json = await lab.json(`show bgp ipv6 unicast 2001:db8:4::/64 json`);
      assert.ok(JSON.stringify(v6json).includes(WEFT_IP6), 'FRR shows weft IPv6 next hop');
      assert.equal(await lab.weft({ cmd: 'refresh', address: FRR_IP }), [1, 2]);
      await staysUp(addr, 12);
    });
  });

  test('FRR sending no capabilities at all (dont-capability-negotiate): IPv4 unicast only, 2-octet AS, no ROUTE-REFRESH', async () => {
    const o: FrrOptions = { neighbor: WEFT_IP, families: ['ipv4', 'ipv6'], networks: NETWORKS, noCapabilities: true };
    await scenario(o, { address: FRR_IP, localAddress: WEFT_IP, nextHops: { ipv6: WEFT_IP6 } }, async (addr) => {
      await lab.weft({ cmd: 'advertise', prefix: '10.244.5.0/24' });
      await lab.weft({ cmd: 'advertise', prefix: '2001:db8:5::/64' });
      await waitFor('FRR kernel IPv4 route', () => inKernel('10.244.5.0/24', WEFT_IP), 20_000);
      await waitFor(
        'weft learns FRR route',
        async () => (await weftRoutes()).some((r) => r.key === '10.244.201.0/24'),
        20_000,
      );
      assert.equal((await peer()).families, ['ipv4']);
      assert.equal(await lab.weft({ cmd: 'refresh', address: FRR_IP }), []); // FRR did not offer route refresh
      await staysUp(addr, 12);
      const sent = await lab.weft<Record<string, number>>({ cmd: 'sent' });
      assert.equal(
        Object.keys(sent).filter((k) => k.endsWith(':2') || k.startsWith('refresh')),
        [],
        JSON.stringify(sent),
      );
    });
  });

  test('IPv6-only session (TCP over IPv6): IPv6 routes both ways, no IPv4 End-of-RIB sent', async () => {
    const o: FrrOptions = { neighbor: WEFT_IP6, families: ['ipv6'], networks: NETWORKS };
    await scenario(o, { address: FRR_IP6, localAddress: WEFT_IP6 }, async (addr) => {
      await lab.weft({ cmd: 'advertise', prefix: '2001:db8:3::/64' });
      await lab.weft({ cmd: 'advertise', prefix: '10.244.3.0/24' });
      await waitFor('FRR kernel IPv6 route', () => inKernel('2001:db8:3::/64', WEFT_IP6), 20_000);
      await waitFor(
        'weft learns FRR IPv6 route',
        async () => (await weftRoutes()).some((r) => r.key === '2001:db8:201::/64'),
        20_000,
      );
      await staysUp(addr, 12);
      assert.equal((await peer()).families, ['ipv6']);
      const sent = await lab.weft<Record<string, number>>({ cmd: 'sent' });
      assert.equal(
        Object.keys(sent).filter((k) => k.endsWith(':1')),
        [],
        `weft sent IPv4: ${JSON.stringify(sent)}`,
      );
      assert.not.ok((await weftRoutes()).some((r) => r.key === '10.244.201.0/24'));
    });
  });
}

test.run();
