import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv4Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import {
  LeaseWatcher,
  pickFreeSubnet,
  isLeasable,
  parseNetConfig,
  subnetKey,
  type Lease,
  type LeaseEvent,
} from './support/internals.ts';

const lease = (cidr: string, ip: string, expiresAt = 1): Lease => ({
  subnet: tryParseIpv4Prefix(cidr)!,
  attrs: { PublicIP: ip, BackendType: 'udp' },
  expiresAt,
});
const show = (ev: LeaseEvent[]) => ev.map((e) => `${e.type} ${subnetKey(e.lease.subnet)} ${e.lease.attrs.PublicIP}`);

test('reset reports new leases, excluding our own', () => {
  const w = new LeaseWatcher();
  w.setOwn(tryParseIpv4Prefix('10.244.1.0/24'));
  assert.equal(show(w.reset([lease('10.244.1.0/24', '192.0.2.1'), lease('10.244.2.0/24', '192.0.2.2')])), [
    'added 10.244.2.0-24 192.0.2.2',
  ]);
});

test('reset after an outage emits the diff: removed, changed, new; unchanged stay quiet', () => {
  const w = new LeaseWatcher();
  w.reset([
    lease('10.244.2.0/24', '192.0.2.2'),
    lease('10.244.3.0/24', '192.0.2.3'),
    lease('10.244.4.0/24', '192.0.2.4'),
  ]);
  const ev = w.reset([
    lease('10.244.2.0/24', '192.0.2.2', 99),
    lease('10.244.3.0/24', '192.0.2.33'),
    lease('10.244.5.0/24', '192.0.2.5'),
  ]);
  assert.equal(show(ev).sort(), [
    'added 10.244.3.0-24 192.0.2.33',
    'added 10.244.5.0-24 192.0.2.5',
    'removed 10.244.4.0-24 192.0.2.4',
  ]);
  assert.is(w.leases().length, 3);
});

test('update: renewals are quiet, attr changes re-add, unknown removals are dropped, own lease skipped', () => {
  const w = new LeaseWatcher();
  w.setOwn(tryParseIpv4Prefix('10.244.1.0/24'));
  const ev = w.update([
    { type: 'added', lease: lease('10.244.2.0/24', '192.0.2.2') },
    { type: 'added', lease: lease('10.244.2.0/24', '192.0.2.2', 50) },
    { type: 'added', lease: lease('10.244.1.0/24', '192.0.2.1') },
    { type: 'removed', lease: lease('10.244.9.0/24', '192.0.2.9') },
    { type: 'added', lease: lease('10.244.2.0/24', '192.0.2.22') },
    { type: 'removed', lease: lease('10.244.2.0/24', '0.0.0.0') },
  ]);
  assert.equal(show(ev), [
    'added 10.244.2.0-24 192.0.2.2',
    'added 10.244.2.0-24 192.0.2.22',
    'removed 10.244.2.0-24 192.0.2.22',
  ]);
  assert.is(w.leases().length, 0);
});

test('pickFreeSubnet skips taken subnets, wraps around, and reports exhaustion', () => {
  const cfg = parseNetConfig('{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.3.0"}');
  const taken = [lease('10.244.2.0/24', '192.0.2.2'), lease('10.244.3.0/24', '192.0.2.3')];
  assert.is(formatIpv4Prefix(pickFreeSubnet(cfg, taken, () => 0.99)!), '10.244.1.0/24');
  assert.is(formatIpv4Prefix(pickFreeSubnet(cfg, [], () => 0.5)!), '10.244.2.0/24');
  assert.is(pickFreeSubnet(cfg, [...taken, lease('10.244.1.0/24', '192.0.2.1')], Math.random), null);
  for (let i = 0; i < 50; i++) assert.ok(isLeasable(cfg, pickFreeSubnet(cfg, [], Math.random)!));
  assert.not.ok(isLeasable(cfg, tryParseIpv4Prefix('10.244.0.0/24')!));
  assert.not.ok(isLeasable(cfg, tryParseIpv4Prefix('10.244.2.0/25')!));
});

test.run();
