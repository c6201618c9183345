// What the generated dual-stack lesson (docs/dual-stack.md) must show, its sources agreeing with each other: the
// lease key joins the lab table's two subnets with `&`, its value carries PublicIPv6 and BackendV6Data, subnet.env
// names the IPv6 subnet, both families' routes are there (and flanneld's equivalent on flannel.1 and flannel-v6.1),
// and each family's ping was traced with its bytes (50 added over IPv4, 70 over IPv6, the pod addresses in the hex).
import * as assert from 'uvu/assert';

/** The second half of an IPv6 /64 prefix as a hex dump shows it: "fd00:10:244:d4::2" -> "02 44 00 d4". */
function hexOfPrefixTail(ip: string): string {
  const groups = ip
    .split('::')[0]!
    .split(':')
    .map((g) => g.padStart(4, '0'));
  return groups
    .slice(2, 4)
    .map((g) => `${g.slice(0, 2)} ${g.slice(2)}`)
    .join(' ');
}

export function checkDualStack(md: string): void {
  const row = md.split('\n').find((l) => l.startsWith('| n2 | 192.0.2.12 | 2001:db8::12 |'));
  assert.ok(row, 'lab table row for n2 with both underlay addresses');
  const [, , , subnet4, subnet6, pods] = row!
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  assert.match(subnet4!, /^10\.244\.\d+\.0\/24$/);
  assert.match(subnet6!, /^fd00:10:244:[0-9a-f]+::\/64$/);
  const [pod4, pod6] = pods!.split(' ') as [string, string];
  const key = `/coreos.com/network/subnets/${subnet4!.replace('/', '-')}&${subnet6!.replace('/', '-')}`;
  const keyRow = md.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
  assert.ok(keyRow, `the lease key ${key} in etcd`);
  assert.match(keyRow!, /"PublicIP":"192\.0\.2\.12"/);
  assert.match(keyRow!, /"PublicIPv6":"2001:db8::12"/);
  assert.match(keyRow!, /"BackendV6Data":\{"VNI":1,"VtepMAC":"[0-9a-f:]{17}"\}/);
  assert.match(md, /"EnableIPv6": ?true/);
  assert.match(md, /FLANNEL_IPV6_NETWORK=fd00:10:244::\/56/);
  assert.match(md, /FLANNEL_IPV6_SUBNET=fd00:10:244:[0-9a-f]+::1\/64/);
  assert.ok(md.includes(`ip -6 route replace ${subnet6} via ${subnet6!.split('/')[0]} dev flannel-v6.1 onlink`));
  assert.ok(md.includes(`ip route replace ${subnet4} via ${subnet4!.split('/')[0]} dev flannel.1 onlink`));
  assert.match(md, /fd00:10:244::\/56 dev flannel0/, "n1's IPv6 route into the TUN");
  assert.ok(md.includes(`| n1 | IPv6 | ${subnet6} | 2001:db8::12 |`), "n1's forwarding table has n2's IPv6 subnet");
  assert.ok(md.includes(`-> n2p1 (${pod4} on n2, subnet ${subnet4})`), 'the IPv4 trace');
  assert.ok(md.includes(`-> n2p1 (${pod6} on n2, subnet ${subnet6})`), 'the IPv6 trace');
  assert.match(md, /bytes added\s+50, measured/);
  assert.match(md, /bytes added\s+70, measured: eth0 minus TUN length/);
  assert.match(md, /IPv6 \d+ - 14 \(Ethernet\) - 104 \(the packet read from flannel0\) = \*\*70\*\*/);
  assert.ok(md.includes(hexOfPrefixTail(pod6)), `the IPv6 pod subnet of ${pod6} in a hex dump`);
  assert.match(md, new RegExp(`ipv6\\.dst\\s+${pod6}\\s`), 'the IPv6 request to the pod, decoded');
  assert.match(md, /vxlan\.vni\s+1\s/);
}
