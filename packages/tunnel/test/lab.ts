// Namespaces for the real-device tests: the addon creates devices and sockets inside them with setns(), so the
// test process itself stays in the root namespace and never creates anything there.
import { LabScope, type Netns } from '@weft/lab';

/** A scope with one namespace whose IPv6 is off (no router solicitations mixing into TUN reads). */
export async function quietNamespace(scopeName: string, local = 'a'): Promise<{ scope: LabScope; ns: Netns }> {
  const scope = new LabScope(scopeName);
  const ns = await scope.netns(local);
  await ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  return { scope, ns };
}

/** Two namespaces joined by a veth: 192.0.2.1 (eth0 in a) and 192.0.2.2 (eth0 in b). */
export async function twoNamespaces(scopeName: string): Promise<{ scope: LabScope; a: Netns; b: Netns }> {
  const scope = new LabScope(scopeName);
  const a = await scope.netns('a');
  const b = await scope.netns('b');
  await scope.veth(a, 'eth0', b, 'eth0');
  await a.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  await b.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
  return { scope, a, b };
}
