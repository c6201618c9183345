// RFC 8950 with FRR (zebra + bgpd, frr-lab.ts): an IPv6-only session (TCP over IPv6, no IPv4 next hop configured
// on weft's side) carries IPv4 routes both ways when both sides offer the extended next hop capability (FRR:
// `neighbor X capability extended-nexthop`, the operator's switch for it). FRR installs weft's IPv4 prefix as a
// kernel route via weft's IPv6 address, weft learns FRR's IPv4 prefix with FRR's IPv6 next hop, and the session
// stays up through several keepalives. Without weft offering it, FRR's IPv4 routes come with an IPv4 next hop
// (classic), and weft's IPv4 prefix, which has no next hop it may carry, stays home.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canRunWith } from '@weft/lab';
import { FRR_IP6, FrrLab, WEFT_IP6, type FrrOptions } from './frr-lab.ts';
import { waitFor } from './speaker-helpers.ts';

interface WeftRoute {
  key: string;
  nextHop: string;
}
interface WeftPeer {
  state: string;
  families: string[];
  prefixesIgnored: number;
}
const NETWORKS = ['10.244.201.0/24', '2001:db8:201::/64'];
const WEFT_V4 = '10.244.8.0/24';

if (canRunWith('frr RFC 8950 interop', ['vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'])) {
  const lab = new FrrLab('fx-frr-enhe');
  const routes = () => lab.weft<WeftRoute[]>({ cmd: 'routes' });
  const peer = async () => (await lab.weft<WeftPeer[]>({ cmd: 'status' }))[0]!;

  async function scenario(weftOffers: boolean, body: () => Promise<void>): Promise<void> {
    const o: FrrOptions = { neighbor: WEFT_IP6, families: ['ipv4', 'ipv6'], networks: NETWORKS, extendedNextHop: true };
    await lab.startFrr(o);
    await lab.startWeft({
      routerId: '192.0.2.2',
      listenAddress: '::',
      holdTime: 9,
      peers: [{ address: FRR_IP6, as: 64512, localAddress: WEFT_IP6, extendedNextHop: weftOffers }],
      advertise: [{ prefix: WEFT_V4 }, { prefix: '2001:db8:8::/64' }],
    });
    try {
      await waitFor('Established', async () => (await peer()).state === 'Established', 30_000);
      await body();
    } catch (e) {
      console.log(`--- FRR:\n${await lab.vtysh('bgpd', 'show bgp ipv4 unicast')}\n${await lab.kernelRoutes(4)}`);
      console.log(`--- weft log:\n${lab.worker?.log().slice(-3000)}`);
      throw e;
    } finally {
      await lab.stopWeft();
      await lab.stopFrr();
    }
  }

  test.before(async () => {
    await lab.setup(NETWORKS);
  });
  test.after(async () => {
    await lab.cleanup();
  });

  test('both offer it: IPv4 routes both ways over the IPv6 session, each via an IPv6 next hop', () =>
    scenario(true, async () => {
      const v4 = new RegExp(`^${WEFT_V4.replace(/\./g, '\\.')} (nhid \\d+ )?via inet6 ${WEFT_IP6} `, 'm');
      await waitFor('FRR installs the IPv4 route via inet6', async () => v4.test(await lab.kernelRoutes(4)), 20_000);
      await waitFor(
        'weft learns the IPv4 route',
        async () => (await routes()).some((r) => r.key === NETWORKS[0]),
        20_000,
      );
      assert.is((await routes()).find((r) => r.key === NETWORKS[0])!.nextHop, FRR_IP6);
      const n = (await lab.json(`show bgp neighbors ${WEFT_IP6} json`))?.[WEFT_IP6];
      assert.match(JSON.stringify(n?.neighborCapabilities ?? {}), /extendedNexthop/i);
      const before = n?.connectionsEstablished;
      await new Promise((r) => setTimeout(r, 10_000)); // three keepalive intervals
      const after = (await lab.json(`show bgp neighbors ${WEFT_IP6} json`))?.[WEFT_IP6];
      assert.is(after?.bgpState, 'Established');
      assert.is(after?.connectionsEstablished, before, 'no reset');
      assert.is(after?.messageStats?.notificationsRecv ?? 0, 0, 'weft sent no NOTIFICATION');
      assert.equal((await peer()).families, ['ipv4', 'ipv6']);
      assert.is((await peer()).prefixesIgnored, 0);
    }));

  test('weft not offering it: FRR sends IPv4 routes with an IPv4 next hop, weft keeps its IPv4 route home', () =>
    scenario(false, async () => {
      await waitFor(
        'weft learns the IPv4 route',
        async () => (await routes()).some((r) => r.key === NETWORKS[0]),
        20_000,
      );
      assert.not.match((await routes()).find((r) => r.key === NETWORKS[0])!.nextHop, /:/);
      await new Promise((r) => setTimeout(r, 3000));
      assert.not.match(await lab.kernelRoutes(4), /10\.244\.8\.0/);
      assert.is((await peer()).state, 'Established');
    }));
}

test.run();
