// Which interface carries inter-host traffic, chosen as flanneld chooses it, and why (the rule is logged):
//   1. --iface, in order: an address picks the interface holding it, a name picks that interface; first match wins.
//   2. --iface-regex, in order (only without --iface): each interface's addresses, then its name.
//   3. --iface-can-reach ADDR: the interface the route to ADDR leaves by.
//   4. weft: --public-ip alone picks the interface holding it, when one does.
//   5. the default route's interface.
// --public-ip then overrides the advertised address. Facts about the host come through IfaceFacts (`ip -json`).
// A network with IPv6 enabled (dual stack, IPv6 only) is selected by iface-select-v6.ts, flanneld's ipmatch rules.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tryParseIpv4 } from '@weft/netaddr';
import { ConfigError } from './config.ts';
import { selectUnderlayV6, type Families } from './iface-select-v6.ts';
import type { LinkProgrammer } from './ports.ts';
import type { AgentSettings } from './settings.ts';

export interface HostLink {
  name: string;
  mtu: number;
  /** IPv4 addresses, primary first. */
  addresses: string[];
}

/** What interface selection needs to know about the host's network namespace. */
export interface IfaceFacts {
  links(): Promise<HostLink[]>;
  /** The device of the route to `address`, or null when there is none. */
  routeDevice(address: string): Promise<string | null>;
  /** The device of the IPv4 default route, or null. */
  defaultRouteDevice(): Promise<string | null>;
  /**
   * IPv6 addresses per link, in flanneld's preference order: global before link-local, permanent before dynamic,
   * stable before temporary; deprecated, loopback and multicast ones left out. Needed when IPv6 is enabled.
   */
  links6?(): Promise<HostLink[]>;
  /** The device of the IPv6 default route, or null. Needed when IPv6 is enabled. */
  defaultRouteDevice6?(): Promise<string | null>;
}

export type { Families } from './iface-select-v6.ts';
export const IPV4_ONLY: Families = Object.freeze({ ipv4: true, ipv6: false });

export interface Underlay {
  /** `0.0.0.0` on an IPv6-only node. */
  publicIp: string;
  /** The IPv6 underlay address (RFC 5952 text) when IPv6 is enabled. */
  publicIpv6?: string;
  iface: string;
  mtu: number;
  /** The rule that chose the interface, for the log. */
  rule: string;
}

const run = promisify(execFile);

async function ipJson(netns: string | undefined, args: string[]): Promise<unknown[]> {
  const { stdout } = await run('ip', [...(netns ? ['-n', netns] : []), '-json', ...args]);
  return stdout.trim() ? (JSON.parse(stdout) as unknown[]) : [];
}

type AddrInfo = {
  family: string;
  local: string;
  scope?: string;
  dynamic?: boolean;
  temporary?: boolean;
  deprecated?: boolean;
};
type IpAddrRow = { ifname: string; mtu: number; addr_info?: AddrInfo[] };

/** flanneld's preference (pkg/ip compareAddrs): global, then permanent (not dynamic), then not temporary. */
function ipv6Rank(a: AddrInfo): number {
  return (a.scope === 'global' ? 0 : 4) + (a.dynamic ? 2 : 0) + (a.temporary ? 1 : 0);
}

/** A link's usable IPv6 addresses in preference order (global or link scope, not deprecated). */
export function orderIpv6Addresses(info: readonly AddrInfo[]): string[] {
  return info
    .filter((a) => a.family === 'inet6' && (a.scope === 'global' || a.scope === 'link') && !a.deprecated)
    .map((a, i) => ({ a, i }))
    .sort((x, y) => ipv6Rank(x.a) - ipv6Rank(y.a) || x.i - y.i)
    .map((x) => x.a.local);
}

/** IfaceFacts from iproute2, of the namespace this process runs in (or of the named one, for tests and tools). */
export function systemIfaceFacts(netns?: string): IfaceFacts {
  return {
    async links() {
      const rows = (await ipJson(netns, ['-4', 'addr', 'show'])) as IpAddrRow[];
      return rows.map((r) => ({
        name: r.ifname,
        mtu: r.mtu,
        addresses: (r.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local),
      }));
    },
    async routeDevice(address) {
      const rows = (await ipJson(netns, ['route', 'get', address]).catch(() => [])) as { dev?: string }[];
      return rows[0]?.dev ?? null;
    },
    async defaultRouteDevice() {
      const rows = (await ipJson(netns, ['-4', 'route', 'show', 'default'])) as { dev?: string }[];
      return rows[0]?.dev ?? null;
    },
    async links6() {
      const rows = (await ipJson(netns, ['-6', 'addr', 'show'])) as IpAddrRow[];
      return rows.map((r) => ({ name: r.ifname, mtu: r.mtu, addresses: orderIpv6Addresses(r.addr_info ?? []) }));
    },
    async defaultRouteDevice6() {
      const rows = (await ipJson(netns, ['-6', 'route', 'show', 'default'])) as { dev?: string }[];
      return rows[0]?.dev ?? null;
    },
  };
}

function pick(link: HostLink, rule: string, publicIp: string | null): Underlay {
  const address = publicIp ?? link.addresses[0];
  if (!address) throw new ConfigError('--iface', `${link.name} (${rule}) has no IPv4 address; give --public-ip`);
  return { publicIp: address, iface: link.name, mtu: link.mtu, rule };
}

/** --iface entries through the link programmer (so fakes answer names), addresses through the host facts. */
async function byIface(
  entries: readonly string[],
  link: LinkProgrammer,
  links: () => Promise<HostLink[]>,
): Promise<{ link: HostLink; rule: string } | null> {
  for (const entry of entries) {
    if (tryParseIpv4(entry) !== null) {
      const found = (await links()).find((l) => l.addresses.includes(entry));
      if (found) return { link: { ...found, addresses: [entry] }, rule: `--iface ${entry} (address)` };
      continue;
    }
    const info = await link.interfaceInfo(entry).catch(() => null);
    if (info)
      return {
        link: { name: entry, mtu: info.mtu, addresses: info.address ? [info.address] : [] },
        rule: `--iface ${entry}`,
      };
  }
  return null;
}

function byRegex(patterns: readonly string[], links: HostLink[]): { link: HostLink; rule: string } | null {
  for (const pattern of patterns) {
    const re = new RegExp(pattern);
    for (const l of links) {
      const address = l.addresses.find((a) => re.test(a));
      if (address)
        return { link: { ...l, addresses: [address] }, rule: `--iface-regex ${pattern} (address ${address})` };
    }
    const named = links.find((l) => re.test(l.name));
    if (named) return { link: named, rule: `--iface-regex ${pattern} (name)` };
  }
  return null;
}

async function byDevice(
  facts: IfaceFacts,
  dev: string | null,
  rule: string,
): Promise<{ link: HostLink; rule: string } | null> {
  const found = dev ? (await facts.links()).find((l) => l.name === dev) : undefined;
  return found ? { link: found, rule } : null;
}

/**
 * The underlay interface and advertised address(es) from the settings' rules (module comment), for the address
 * families the network config enables (IPv4 only by default). Throws ConfigError naming the flag when the rules
 * given match nothing.
 */
export async function selectUnderlay(
  settings: AgentSettings,
  link: LinkProgrammer,
  facts: IfaceFacts = systemIfaceFacts(),
  families: Families = IPV4_ONLY,
): Promise<Underlay> {
  if (families.ipv6) return selectUnderlayV6(settings, facts, families);
  let cached: HostLink[] | null = null;
  const links = async () => (cached ??= await facts.links());
  const { iface, ifaceRegex, ifaceCanReach, publicIp } = settings;
  if (iface.length > 0) {
    const hit = await byIface(iface, link, links);
    if (hit) return pick(hit.link, hit.rule, publicIp);
    if (ifaceRegex.length === 0) throw new ConfigError('--iface', `no interface matches ${iface.join(', ')}`);
  }
  if (ifaceRegex.length > 0) {
    const hit = byRegex(ifaceRegex, await links());
    if (hit) return pick(hit.link, hit.rule, publicIp);
    throw new ConfigError('--iface-regex', `no interface name or address matches ${ifaceRegex.join(', ')}`);
  }
  if (ifaceCanReach) {
    const hit = await byDevice(facts, await facts.routeDevice(ifaceCanReach), `--iface-can-reach ${ifaceCanReach}`);
    if (hit) return pick(hit.link, hit.rule, publicIp);
    throw new ConfigError('--iface-can-reach', `no route to ${ifaceCanReach}`);
  }
  if (publicIp) {
    const holder = await link.interfaceWithAddress(publicIp);
    if (holder)
      return {
        publicIp,
        iface: holder.name,
        mtu: holder.mtu,
        rule: `--public-ip ${publicIp} (the interface holding it)`,
      };
  }
  const hit = await byDevice(facts, await facts.defaultRouteDevice(), 'the default route');
  if (hit) return pick(hit.link, hit.rule, publicIp);
  throw new ConfigError('--iface', 'no default route; give --iface, --iface-regex, --iface-can-reach or --public-ip');
}
