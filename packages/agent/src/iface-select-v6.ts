// Interface selection when the network enables IPv6 (dual stack or IPv6 only), flanneld's pkg/ipmatch rules:
//   1. --iface, in order: an IPv6 address picks the interface holding it, an IPv4 address (dual stack only) the
//      interface holding that, a name that interface; first match wins.
//   2. --iface-regex, in order: dual stack needs an interface with an IPv4 AND an IPv6 address matching (IPv6 only:
//      an IPv6 address), else the first interface whose name matches.
//   3. --iface-can-reach ADDR (either family): the interface the route to ADDR leaves by.
//   4. --public-ip, else --public-ipv6, alone: the interface holding it (flanneld looks it up as an --iface).
//   5. the default route's interface; dual stack needs the IPv4 and the IPv6 default route on the same one.
// Addresses: --public-ip / --public-ipv6 when given, else the address the rule matched, else the interface's first
// address of the family in flanneld's preference order (global before link-local, permanent before dynamic, stable
// before temporary; deprecated ones never). Where flanneld would leave PublicIPv6 empty in dual stack (an IPv4
// --iface without --public-ipv6) weft takes the interface's IPv6 address: a dual-stack lease needs one.
// An IPv6-only node advertises PublicIP 0.0.0.0, as flanneld's lease does.
import { formatIpv6, tryParseIpv4, tryParseIpv6 } from '@weft/netaddr';
import { ConfigError } from './config.ts';
import type { AgentSettings } from './settings.ts';
import type { HostLink, IfaceFacts, Underlay } from './iface-select.ts';

/** The address families a network config enables. */
export interface Families {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

interface Hit {
  name: string;
  rule: string;
  v4?: string;
  v6?: string;
}

interface HostView {
  v4: HostLink[];
  v6: HostLink[];
}

const same6 = (a: string, b: string): boolean => tryParseIpv6(a) === tryParseIpv6(b);

/** Selection for dual stack or IPv6 only (module comment). Throws ConfigError naming the flag. */
export async function selectUnderlayV6(
  settings: AgentSettings,
  facts: IfaceFacts,
  families: Families,
): Promise<Underlay> {
  if (!facts.links6 || !facts.defaultRouteDevice6)
    throw new ConfigError('EnableIPv6', 'this host gives no IPv6 interface facts');
  const host: HostView = { v4: families.ipv4 ? await facts.links() : [], v6: await facts.links6() };
  const hit = await findInterface(settings, facts, families, host);
  return addressesFor(settings, families, host, hit);
}

async function findInterface(s: AgentSettings, facts: IfaceFacts, fam: Families, host: HostView): Promise<Hit> {
  if (s.iface.length > 0) {
    const hit = byIface(s.iface, fam, host);
    if (hit) return hit;
    if (s.ifaceRegex.length === 0) throw new ConfigError('--iface', `no interface matches ${s.iface.join(', ')}`);
  }
  if (s.ifaceRegex.length > 0) {
    const hit = byRegex(s.ifaceRegex, fam, host);
    if (hit) return hit;
    throw new ConfigError('--iface-regex', `no interface name or address matches ${s.ifaceRegex.join(', ')}`);
  }
  if (s.ifaceCanReach) {
    const dev = await facts.routeDevice(s.ifaceCanReach);
    if (dev && exists(host, dev)) return { name: dev, rule: `--iface-can-reach ${s.ifaceCanReach}` };
    throw new ConfigError('--iface-can-reach', `no route to ${s.ifaceCanReach}`);
  }
  const holder = publicHolder(s, fam, host);
  if (holder) return holder;
  return byDefaultRoutes(facts, fam, host);
}

function exists(host: HostView, name: string): boolean {
  return host.v4.some((l) => l.name === name) || host.v6.some((l) => l.name === name);
}

function byIface(entries: readonly string[], fam: Families, host: HostView): Hit | null {
  for (const entry of entries) {
    if (tryParseIpv6(entry) !== null) {
      const l = host.v6.find((x) => x.addresses.some((a) => same6(a, entry)));
      if (l) return { name: l.name, rule: `--iface ${entry} (address)`, v6: formatIpv6(tryParseIpv6(entry)!) };
    } else if (tryParseIpv4(entry) !== null) {
      const l = fam.ipv4 ? host.v4.find((x) => x.addresses.includes(entry)) : undefined;
      if (l) return { name: l.name, rule: `--iface ${entry} (address)`, v4: entry };
    } else if (exists(host, entry)) {
      return { name: entry, rule: `--iface ${entry}` };
    }
  }
  return null;
}

function byRegex(patterns: readonly string[], fam: Families, host: HostView): Hit | null {
  const names = [...new Set([...host.v4, ...host.v6].map((l) => l.name))];
  const addrs = (list: HostLink[], name: string) => list.find((l) => l.name === name)?.addresses ?? [];
  for (const pattern of patterns) {
    const re = new RegExp(pattern);
    for (const name of names) {
      const v6 = addrs(host.v6, name).find((a) => re.test(a));
      const v4 = fam.ipv4 ? addrs(host.v4, name).find((a) => re.test(a)) : undefined;
      if (v6 && (v4 || !fam.ipv4))
        return { name, rule: `--iface-regex ${pattern} (address ${v4 ? `${v4} ` : ''}${v6})`, v4, v6 };
    }
    const named = names.find((n) => re.test(n));
    if (named) return { name: named, rule: `--iface-regex ${pattern} (name)` };
  }
  return null;
}

function publicHolder(s: AgentSettings, fam: Families, host: HostView): Hit | null {
  if (s.publicIp && fam.ipv4) {
    const l = host.v4.find((x) => x.addresses.includes(s.publicIp!));
    if (l) return { name: l.name, rule: `--public-ip ${s.publicIp} (the interface holding it)` };
  }
  if (s.publicIpv6) {
    const l = host.v6.find((x) => x.addresses.some((a) => same6(a, s.publicIpv6!)));
    if (l) return { name: l.name, rule: `--public-ipv6 ${s.publicIpv6} (the interface holding it)` };
  }
  return null;
}

async function byDefaultRoutes(facts: IfaceFacts, fam: Families, host: HostView): Promise<Hit> {
  const dev6 = await facts.defaultRouteDevice6!();
  const dev4 = fam.ipv4 ? await facts.defaultRouteDevice() : dev6;
  if (!dev4 || !dev6 || !exists(host, dev6)) {
    const which = !dev6 ? 'IPv6 default route' : 'IPv4 default route';
    throw new ConfigError('--iface', `no ${which}; give --iface, --iface-regex, --iface-can-reach or --public-ipv6`);
  }
  if (dev4 !== dev6)
    throw new ConfigError(
      '--iface',
      `the IPv6 default route's interface ${dev6} is not the IPv4 default route's ${dev4} (flanneld needs one)`,
    );
  return { name: dev6, rule: fam.ipv4 ? 'the default routes (IPv4 and IPv6)' : 'the IPv6 default route' };
}

function addressesFor(s: AgentSettings, fam: Families, host: HostView, hit: Hit): Underlay {
  const link4 = host.v4.find((l) => l.name === hit.name);
  const link6 = host.v6.find((l) => l.name === hit.name);
  const publicIpv6 = s.publicIpv6 ?? hit.v6 ?? link6?.addresses[0];
  if (!publicIpv6)
    throw new ConfigError('--iface', `${hit.name} (${hit.rule}) has no IPv6 address; give --public-ipv6`);
  let publicIp = '0.0.0.0';
  if (fam.ipv4) {
    const v4 = s.publicIp ?? hit.v4 ?? link4?.addresses[0];
    if (!v4) throw new ConfigError('--iface', `${hit.name} (${hit.rule}) has no IPv4 address; give --public-ip`);
    publicIp = v4;
  }
  const mtu = link4?.mtu ?? link6?.mtu ?? 0;
  return { publicIp, publicIpv6: formatIpv6(tryParseIpv6(publicIpv6)!), iface: hit.name, mtu, rule: hit.rule };
}
