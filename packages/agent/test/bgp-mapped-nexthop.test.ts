// IPv6 routes via an IPv4-mapped next hop (::ffff:a.b.c.d), as GoBGP sends its own IPv6 routes on an IPv4
// session: Linux cannot route IPv6 via an IPv4 gateway, and `ip route replace ... via ::ffff:c000:266` fails the
// whole `ip -batch` (found by test/gobgp-bgp.test.ts). Such a route is left out of the IPv6 route changes; a route
// that moves from a usable next hop to a mapped one is removed; usable ones in the same batch pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Afi, type BestChange, type Route } from '@weft/route-sync';
import { bestChangesToIpv6Changes, isIpv4MappedNextHop } from '../src/bgp-speaker.ts';

const source = {
  id: '192.0.2.102',
  address: '192.0.2.102',
  as: 64512,
  bgpId: '192.0.2.102',
  ibgp: true,
  rrClient: false,
};
const prefix = (addr: string) => ({ afi: Afi.Ipv6, addr, length: 64 });
const route = (addr: string, nextHop: string): Route =>
  ({ prefix: prefix(addr), key: `${addr}/64`, nextHop, source, attrs: {} }) as unknown as Route;
const change = (addr: string, best: Route | null, previous: Route | null): BestChange => ({
  key: `${addr}/64`,
  prefix: prefix(addr),
  best,
  previous,
});

test('isIpv4MappedNextHop: ::ffff:0:0/96 only, in either spelling', () => {
  assert.ok(isIpv4MappedNextHop('::ffff:c000:266'));
  assert.ok(isIpv4MappedNextHop('::ffff:192.0.2.102'));
  for (const a of ['2001:db8::102', '::c000:266', '::1:ffff:c000:266', '192.0.2.102', 'fe80::1'])
    assert.not.ok(isIpv4MappedNextHop(a), a);
});

test('a mapped next hop is not installed, a move to one removes the route, usable ones pass', () => {
  const out = bestChangesToIpv6Changes(
    [
      change('2001:db8:100::', route('2001:db8:100::', '::ffff:c000:266'), null),
      change('2001:db8:101::', route('2001:db8:101::', '::ffff:c000:266'), route('2001:db8:101::', '2001:db8::102')),
      change('2001:db8:102::', null, route('2001:db8:102::', '::ffff:c000:266')),
      change('2001:db8:103::', route('2001:db8:103::', '2001:db8::102'), null),
    ],
    undefined,
  );
  assert.equal(
    out.map((c) => [c.type, c.subnet.prefixLen, c.publicIp]),
    [
      ['removed', 64, '2001:db8::102'],
      ['added', 64, '2001:db8::102'],
    ],
  );
});

test.run();
