// The dual-stack and IPv6-only part of the LeaseStore contract, for every store: leases keyed as flannel's
// MakeSubnetKey writes them, both subnets back from listings and watches, renewals and deletes by the whole key.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIpv6Prefix, tryParseIpv4Prefix, tryParseIpv6Prefix } from '@weft/netaddr';
import {
  LeaseNotFoundError,
  NO_IPV4_SUBNET,
  leaseKey,
  type Lease,
  type LeaseAttrs,
  type LeaseStore,
} from './support/internals.ts';
import { collect, storeTests } from './store-contract.ts';

export interface DualContractOptions {
  open(): Promise<LeaseStore>;
  /**
   * Whether a claim is refused when another key already holds one of its subnets. The embedded stores check in
   * their transaction; etcd, like flanneld, compares the key alone.
   */
  familyExclusive: boolean;
}

const v4 = (s: string) => tryParseIpv4Prefix(s)!;
const v6 = (s: string) => tryParseIpv6Prefix(s)!;
const HOUR = 3600_000;
/** A dual-stack node's attrs, in flanneld's field order plus weft's NodeName. */
export const dualAttrs = (n: number): LeaseAttrs => ({
  PublicIP: `192.0.2.${n}`,
  PublicIPv6: `2001:db8::${n}`,
  BackendType: 'vxlan',
  BackendData: { VNI: 1, VtepMAC: `0a:58:00:00:00:0${n}` },
  BackendV6Data: { VNI: 1, VtepMAC: `0a:58:00:00:06:0${n}` },
  NodeName: `n${n}`,
});
const keyOf = (l: Lease) => leaseKey(l.subnet, l.ipv6Subnet);

/** Registers the dual-stack contract tests on `suite`, prefixed with `label`. */
export function dualStackContract(suite: Test, label: string, opts: DualContractOptions): void {
  const withStore = storeTests(suite, label, () => opts.open());

  withStore('a dual-stack lease: one key, both subnets, the IPv6 attrs, create-if-absent', async (s) => {
    const a = await s.createLease(v4('10.244.1.0/24'), dualAttrs(1), HOUR, v6('fd00:0:0:1::/64'));
    assert.ok(a);
    assert.is(keyOf(a), '10.244.1.0-24&fd00:0:0:1::-64');
    assert.is(await s.createLease(v4('10.244.1.0/24'), dualAttrs(2), HOUR, v6('fd00:0:0:1::/64')), null);
    const [listed] = (await s.listLeases()).leases;
    assert.is(keyOf(listed!), '10.244.1.0-24&fd00:0:0:1::-64');
    assert.equal(listed!.attrs, dualAttrs(1));
    const other = await s.createLease(v4('10.244.1.0/24'), dualAttrs(3), HOUR, v6('fd00:0:0:2::/64'));
    const v4only = await s.createLease(v4('10.244.1.0/24'), dualAttrs(4), HOUR);
    if (opts.familyExclusive) {
      assert.is(other, null, 'the IPv4 subnet is held under another key');
      assert.is(v4only, null, 'an IPv4-only key of a held IPv4 subnet');
    } else assert.ok(other && v4only, 'etcd compares keys only, as flanneld does');
  });

  withStore('renew and delete go by the whole key', async (s) => {
    await s.createLease(v4('10.244.2.0/24'), dualAttrs(1), HOUR, v6('fd00:0:0:2::/64'));
    const renewed = await s.renewLease(v4('10.244.2.0/24'), dualAttrs(1), 2 * HOUR, v6('fd00:0:0:2::/64'));
    assert.is(formatIpv6Prefix(renewed.ipv6Subnet!), 'fd00:0:0:2::/64');
    try {
      await s.renewLease(v4('10.244.2.0/24'), dualAttrs(1), HOUR);
      assert.unreachable('the IPv4-only key does not exist');
    } catch (e) {
      assert.instance(e, LeaseNotFoundError);
    }
    assert.is(await s.deleteLease(v4('10.244.2.0/24')), false);
    assert.is(await s.deleteLease(v4('10.244.2.0/24'), v6('fd00:0:0:2::/64')), true);
    assert.equal((await s.listLeases()).leases, []);
  });

  withStore('IPv6 only: 0.0.0.0-0&V6NET-LEN, PublicIP 0.0.0.0, watched and deleted like any lease', async (s) => {
    const attrs: LeaseAttrs = { PublicIP: '0.0.0.0', PublicIPv6: 'fd00::9', BackendType: 'vxlan', NodeName: 'six' };
    const start = (await s.listLeases()).revision;
    const events = await collect(
      s,
      start,
      async () => {
        const l = await s.createLease(NO_IPV4_SUBNET, attrs, HOUR, v6('fd00:0:0:9::/64'));
        assert.ok(l);
        assert.is(keyOf(l), '0.0.0.0-0&fd00:0:0:9::-64');
        await s.createLease(v4('10.244.3.0/24'), dualAttrs(3), HOUR, v6('fd00:0:0:3::/64'));
        await s.deleteLease(NO_IPV4_SUBNET, v6('fd00:0:0:9::/64'));
      },
      (ev) => ev.length >= 3,
    );
    assert.equal(
      events.map((e) => `${e.type} ${keyOf(e.lease)}`),
      ['added 0.0.0.0-0&fd00:0:0:9::-64', 'added 10.244.3.0-24&fd00:0:0:3::-64', 'removed 0.0.0.0-0&fd00:0:0:9::-64'],
    );
    assert.equal(events[0]!.lease.attrs, attrs);
    assert.equal(events[1]!.lease.attrs, dualAttrs(3));
  });

  withStore('an IPv4-only lease keeps its shape (no ipv6Subnet property)', async (s) => {
    const l = await s.createLease(v4('10.244.4.0/24'), { PublicIP: '192.0.2.4', BackendType: 'udp' }, HOUR);
    assert.not.ok('ipv6Subnet' in l!);
    assert.not.ok('ipv6Subnet' in (await s.listLeases()).leases[0]!);
  });
}
