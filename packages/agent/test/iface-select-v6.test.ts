// IPv6 interface selection as flanneld's ipmatch does it, in a namespace whose interfaces carry IPv4 and IPv6
// addresses (permanent, dynamic, deprecated, link-local) and both default routes: dual stack and IPv6 only.
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

const DUAL = { ipv4: true, ipv6: true };
const ONLY6 = { ipv4: false, ipv6: true };
/** The IPv6 path asks the host facts only; the link programmer is never called. */
const noLink = {} as LinkProgrammer;

async function choose(facts: IfaceFacts, argv: string[], fam = DUAL) {
  const u = await selectUnderlay(parseAgentArgs(argv, { hostname: 'n1' }), noLink, facts, fam);
  return { iface: u.iface, publicIp: u.publicIp, publicIpv6: u.publicIpv6, rule: u.rule };
}

async function refuses(facts: IfaceFacts, argv: string[], fam: typeof DUAL, field: string, text: RegExp) {
  await assertRejectsConfigError(() => choose(facts, argv, fam), field, text);
}

/** eth0 (dual), ens5 (dual, a dynamic address before a permanent one), ens6 (IPv6 only, one address deprecated). */
async function hostWithAddresses(scope: LabScope): Promise<{ host: Netns; facts: IfaceFacts }> {
  const host = await scope.netns('host');
  const peer = await scope.netns('peer');
  const six = (dev: string, cidr: string, ...extra: string[]) =>
    host.ip(['-6', 'addr', 'add', cidr, 'dev', dev, 'nodad', ...extra]);
  for (const [dev, peerDev] of [
    ['eth0', 'p0'],
    ['ens5', 'p5'],
    ['ens6', 'p6'],
  ] as const)
    await scope.veth(host, dev, peer, peerDev);
  await host.ip(['addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
  await six('eth0', '2001:db8:1::10/64');
  await host.ip(['addr', 'add', '198.51.100.10/25', 'dev', 'ens5']);
  await six('ens5', '2001:db8:5::99/64', 'valid_lft', '600', 'preferred_lft', '600'); // dynamic
  await six('ens5', '2001:db8:5::10/64');
  await six('ens6', '2001:db8:6::1/64', 'preferred_lft', '0'); // deprecated
  await six('ens6', '2001:db8:6::10/64');
  return { host, facts: systemIfaceFacts(host.name) };
}

if (canRunPrivileged('IPv6 interface selection in a namespace')) {
  test("flanneld's IPv6 rules pick the interface and addresses, dual stack and IPv6 only", async () => {
    const scope = new LabScope('v6c-iface');
    try {
      const { host, facts } = await hostWithAddresses(scope);
      await refuses(facts, [], DUAL, '--iface', /no IPv6 default route/);
      await host.ip(['route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
      await host.ip(['-6', 'route', 'add', 'default', 'via', '2001:db8:1::1', 'dev', 'eth0']);
      assert.equal(await choose(facts, []), {
        iface: 'eth0',
        publicIp: '192.0.2.10',
        publicIpv6: '2001:db8:1::10',
        rule: 'the default routes (IPv4 and IPv6)',
      });
      assert.equal(await choose(facts, [], ONLY6), {
        iface: 'eth0',
        publicIp: '0.0.0.0',
        publicIpv6: '2001:db8:1::10',
        rule: 'the IPv6 default route',
      });
      const ens5 = await choose(facts, ['--iface', 'ens5']);
      assert.equal([ens5.publicIp, ens5.publicIpv6], ['198.51.100.10', '2001:db8:5::10'], 'permanent before dynamic');
      assert.equal(await choose(facts, ['--iface=2001:db8:5::99']), {
        iface: 'ens5',
        publicIp: '198.51.100.10',
        publicIpv6: '2001:db8:5::99',
        rule: '--iface 2001:db8:5::99 (address)',
      });
      assert.is((await choose(facts, ['--iface', 'ens6'], ONLY6)).publicIpv6, '2001:db8:6::10', 'never deprecated');
      assert.is((await choose(facts, ['--iface-regex', '^2001:db8:6:'], ONLY6)).iface, 'ens6');
      assert.is((await choose(facts, ['--iface-regex', '^ens'])).iface, 'ens5', 'no address matches: the name');
      assert.equal(await choose(facts, ['--iface-regex', '^(198\\.51|2001:db8:5::10)']), {
        iface: 'ens5',
        publicIp: '198.51.100.10',
        publicIpv6: '2001:db8:5::10',
        rule: '--iface-regex ^(198\\.51|2001:db8:5::10) (address 198.51.100.10 2001:db8:5::10)',
      });
      assert.is((await choose(facts, ['--iface-can-reach', '2001:db8:5::77'])).iface, 'ens5');
      assert.is((await choose(facts, ['--public-ipv6', '2001:db8:6::10'], ONLY6)).iface, 'ens6');
      assert.equal((await choose(facts, ['--public-ipv6', '2001:db8:ffff::1'])).publicIpv6, '2001:db8:ffff::1');
      await refuses(facts, ['--iface', 'ens6'], DUAL, '--iface', /no IPv4 address/);
      await refuses(facts, ['--iface', '192.0.2.10'], ONLY6, '--iface', /no interface matches/);
      await host.ip(['-6', 'route', 'replace', 'default', 'via', '2001:db8:5::1', 'dev', 'ens5']);
      await refuses(facts, [], DUAL, '--iface', /IPv6 default route's interface ens5 is not the IPv4 .* eth0/);
      assert.is((await choose(facts, [], ONLY6)).iface, 'ens5');
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
