// The agent flags that concern the command rather than the lease/backends core (route sync, BGP peers, capture,
// offloads), taken out of argv before parseAgentArgs sees the rest. `--config` is accepted for `--net-config`.
import { ConfigError } from '@weft/agent';
import { tryParseIpv4 } from '@weft/netaddr';

export interface BgpPeerFlag {
  address: string;
  as: number;
}

export interface ExtraFlags {
  routeSync: 'lease' | 'bgp';
  pcap?: string;
  offload: boolean;
  /** The super-packet send path (on where the kernel has it); `--no-super-packets` forces the socket path. */
  superPackets: boolean;
  bgpAs: number;
  bgpPort: number;
  bgpPeers: BgpPeerFlag[];
  routeReflectors: string[];
}

function asNumber(field: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 4294967295) throw new ConfigError(field, `expected an AS number 1..4294967295, got "${text}"`);
  return n;
}

function address(field: string, text: string): string {
  if (tryParseIpv4(text) === null) throw new ConfigError(field, `expected an IPv4 address, got "${text}"`);
  return text;
}

/** Splits argv into the extra flags (validated) and the rest (for parseAgentArgs). Throws ConfigError. */
export function splitExtraFlags(argv: readonly string[]): { extra: ExtraFlags; rest: string[] } {
  const extra: ExtraFlags = { routeSync: 'lease', offload: true, superPackets: true, bgpAs: 64512, bgpPort: 179, bgpPeers: [], routeReflectors: [] };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.startsWith('--') && argv[i]!.includes('=') ? argv[i]!.split(/=(.*)/s, 2) as [string, string] : [argv[i]!, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ConfigError(flag, 'needs a value');
      return v;
    };
    switch (flag) {
      case '--config': rest.push('--net-config', value()); break;
      case '--route-sync': {
        const v = value();
        if (v !== 'lease' && v !== 'bgp') throw new ConfigError('--route-sync', `expected lease or bgp, got "${v}"`);
        extra.routeSync = v;
        break;
      }
      case '--pcap': extra.pcap = value(); break;
      case '--no-offload': extra.offload = false; break;
      case '--no-super-packets': extra.superPackets = false; break;
      case '--bgp-as': extra.bgpAs = asNumber('--bgp-as', value()); break;
      case '--bgp-port': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new ConfigError('--bgp-port', `expected a port 1..65535, got "${v}"`);
        extra.bgpPort = n;
        break;
      }
      case '--bgp-peer': {
        const [addr, as, more] = value().split(',');
        if (!addr || !as || more !== undefined) throw new ConfigError('--bgp-peer', 'expected ADDR,AS such as 192.0.2.1,64512');
        extra.bgpPeers.push({ address: address('--bgp-peer', addr), as: asNumber('--bgp-peer', as) });
        break;
      }
      case '--route-reflector': extra.routeReflectors.push(address('--route-reflector', value())); break;
      default: rest.push(argv[i]!);
    }
  }
  return { extra, rest };
}
