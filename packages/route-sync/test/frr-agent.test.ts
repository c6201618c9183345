// `weft agent --route-sync bgp` with the native backend, peering with FRR (zebra + bgpd, frr-lab.ts): the pod
// subnet FRR announces becomes a kernel route in the agent's namespace, via FRR's address, and FRR installs the
// agent's subnet in its own. IPv4 only on the agent side (IPv6 pod routing is later work). The agent is the
// `weft` executable run by path, as an operator runs it; nothing of @weft/agent is imported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunWith } from '@weft/lab';
import { FRR_IP, FrrLab, WEFT_IP } from './frr-lab.ts';
import { waitFor } from './speaker-helpers.ts';

const WEFT_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'agent', 'bin', 'weft.mjs');
// FRR plays another node whose pod subnet is outside the agent's lease range (SubnetMax below).
const FRR_POD_SUBNET = '10.244.201.0/24';

if (canRunWith('frr agent interop', ['vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'])) {
  const lab = new FrrLab('h6-frr-agent');

  test.after(async () => {
    await lab.cleanup();
  });

  test('weft agent (native, --route-sync bgp) installs the IPv4 route it learns from FRR, FRR installs the agent subnet', async () => {
    await lab.setup([FRR_POD_SUBNET]);
    await lab.startFrr({ neighbor: WEFT_IP, families: ['ipv4'], networks: [FRR_POD_SUBNET] });
    const dir = lab.scope.dir;
    const netConf = join(dir, 'net-conf.json');
    const conf = {
      Network: '10.244.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.244.1.0',
      SubnetMax: '10.244.100.0',
      Backend: { Type: 'native' },
    };
    writeFileSync(netConf, JSON.stringify(conf));
    const args = [
      'agent',
      '--config',
      netConf,
      '--public-ip',
      WEFT_IP,
      '--iface',
      'eth0',
      '--store',
      `embedded:${join(dir, 'leases.db')}`,
    ];
    args.push(
      '--subnet-file',
      join(dir, 'subnet.env'),
      '--route-sync',
      'bgp',
      '--bgp-peer',
      `${FRR_IP},64512`,
      '--node-name',
      'h6-agent',
    );
    const agent = lab.scope.spawn('agent', lab.weftNs, [process.execPath, WEFT_BIN, ...args]);
    try {
      const route = async () => (await lab.weftNs.ip(['-4', 'route', 'show', FRR_POD_SUBNET])).stdout;
      await waitFor(
        'agent kernel route to FRR pod subnet',
        async () => / via 192\.0\.2\.1 dev eth0/.test(await route()),
        45_000,
      );
      assert.match(
        await route(),
        new RegExp(`^${FRR_POD_SUBNET.replace(/\./g, '\\.')} via ${FRR_IP.replace(/\./g, '\\.')} dev eth0`),
      );
      // The agent's own subnet (from its lease) reaches FRR's kernel via the agent's address.
      const own = /^FLANNEL_SUBNET=(\S+)$/m.exec(readFileSync(join(dir, 'subnet.env'), 'utf8'))?.[1];
      assert.ok(own, 'subnet.env has FLANNEL_SUBNET');
      const ownNet = own!.replace(/\.\d+\//, '.0/');
      await waitFor(
        'FRR kernel route to the agent subnet',
        async () =>
          new RegExp(`^${ownNet.replace(/\./g, '\\.')} (nhid \\d+ )?via ${WEFT_IP.replace(/\./g, '\\.')} `, 'm').test(
            await lab.kernelRoutes(4),
          ),
        20_000,
      );
      // FRR withdraws (bgpd stops with a Cease): the agent removes the route.
      await lab.stopFrr();
      await waitFor('agent removes the route', async () => (await route()).trim() === '', 20_000);
    } catch (e) {
      console.log(`--- agent log:\n${agent.log().slice(-4000)}`);
      throw e;
    } finally {
      await agent.stop(5000);
    }
  });
}

test.run();
