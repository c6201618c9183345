// Interface selection as flanneld does it, in a namespace with three interfaces and a default route:
// --iface by name or address (first match wins), --iface-regex, --iface-can-reach, the default route, --public-ip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunPrivileged, type Netns } from '@weft/lab';
import {
  parseAgentArgs,
  selectUnderlay,
  systemIfaceFacts,
  type IfaceFacts,
  type LinkProgrammer,
} from './support/internals.ts';
import { assertRejectsConfigError } from './support/config-error.ts';

/** The link programmer's interface queries, answered from the same facts (the rest is never called here). */
function factsLink(facts: IfaceFacts): LinkProgrammer {
  const find = async (pred: (l: { name: string; addresses: string[] }) => boolean) =>
    (await facts.links()).find(pred) ?? null;
  return {
    configureLink: async () => {},
    ipBatch: async () => {},
    async interfaceInfo(name) {
      const l = await find((x) => x.name === name);
      if (!l) throw new Error(`no ${name}`);
      return { mtu: l.mtu, address: l.addresses[0] ?? null };
    },
    async interfaceWithAddress(address) {
      const l = await find((x) => x.addresses.includes(address));
      return l ? { name: l.name, mtu: (await facts.links()).find((x) => x.name === l.name)!.mtu } : null;
    },
  } as LinkProgrammer;
}

async function choose(facts: IfaceFacts, argv: string[]): Promise<{ iface: string; publicIp: string; rule: string }> {
  const u = await selectUnderlay(parseAgentArgs(argv, { hostname: 'n1' }), factsLink(facts), facts);
  return { iface: u.iface, publicIp: u.publicIp, rule: u.rule };
}

async function refuses(facts: IfaceFacts, argv: string[], field: string): Promise<void> {
  await assertRejectsConfigError(() => choose(facts, argv), field);
}

/** A host namespace with eth0, ens5 and ens6 (veths to a peer namespace); no routes beyond the connected ones. */
async function threeInterfaces(scope: LabScope): Promise<{ host: Netns; facts: IfaceFacts }> {
  const host = await scope.netns('host');
  const peer = await scope.netns('peer');
  const links: [string, string, string][] = [
    ['eth0', 'p0', '192.0.2.10/24'],
    ['ens5', 'p5', '198.51.100.10/25'],
    ['ens6', 'p6', '198.51.100.200/25'],
  ];
  for (const [dev, peerDev, cidr] of links) {
    await scope.veth(host, dev, peer, peerDev);
    await host.ip(['addr', 'add', cidr, 'dev', dev]);
  }
  return { host, facts: systemIfaceFacts(host.name) };
}

if (canRunPrivileged('interface selection in a namespace with several interfaces')) {
  test('flanneld rules pick the interface and address they name, and say which rule did', async () => {
    const scope = new LabScope('h7-iface');
    try {
      const { host, facts } = await threeInterfaces(scope);
      await refuses(facts, [], '--iface');
      await host.ip(['route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
      await host.ip(['route', 'add', '10.244.99.0/24', 'via', '198.51.100.201', 'dev', 'ens6']);

      assert.equal(await choose(facts, []), { iface: 'eth0', publicIp: '192.0.2.10', rule: 'the default route' });
      assert.equal((await choose(facts, ['--iface', 'ens6'])).publicIp, '198.51.100.200');
      assert.equal(await choose(facts, ['--iface=198.51.100.10']), {
        iface: 'ens5',
        publicIp: '198.51.100.10',
        rule: '--iface 198.51.100.10 (address)',
      });
      assert.equal(
        (await choose(facts, ['--iface', 'nope0', '--iface', 'ens5', '--iface', 'ens6'])).iface,
        'ens5',
        'first match wins',
      );
      assert.equal((await choose(facts, ['--iface-regex', '^ens'])).iface, 'ens5');
      assert.equal(await choose(facts, ['--iface-regex', 'nomatch', '--iface-regex', '^198\\.51\\.100\\.2']), {
        iface: 'ens6',
        publicIp: '198.51.100.200',
        rule: '--iface-regex ^198\\.51\\.100\\.2 (address 198.51.100.200)',
      });
      assert.equal(
        (await choose(facts, ['--iface', 'nope0', '--iface-regex', '^ens6$'])).iface,
        'ens6',
        'regex after no --iface matched',
      );
      assert.equal((await choose(facts, ['--iface-can-reach', '10.244.99.5'])).iface, 'ens6');
      assert.equal((await choose(facts, ['--iface-can-reach', '198.51.100.20'])).iface, 'ens5');
      assert.equal(await choose(facts, ['--public-ip', '192.0.2.99']), {
        iface: 'eth0',
        publicIp: '192.0.2.99',
        rule: 'the default route',
      });
      assert.equal(
        (await choose(facts, ['--public-ip', '198.51.100.200'])).iface,
        'ens6',
        'weft: the interface holding --public-ip',
      );
      assert.equal(await choose(facts, ['--iface', 'ens5', '--public-ip', '192.0.2.99']), {
        iface: 'ens5',
        publicIp: '192.0.2.99',
        rule: '--iface ens5',
      });
      await refuses(facts, ['--iface', 'nope0'], '--iface');
      await refuses(facts, ['--iface-regex', '^wlan'], '--iface-regex');
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
