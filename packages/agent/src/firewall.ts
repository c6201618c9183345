// flanneld's masquerade and forwarding rules, as data. Pure: the cluster network and this node's subnet in, the
// rule set out; the FirewallProgrammer port (ports.ts) puts it into the kernel, iptables.ts on a real node.
//
// Design notes: the rules are flanneld's (pkg/trafficmngr/iptables, --ip-masq and --iptables-forward-rules),
// in chains of weft's own (WEFT-POSTRTG in nat, WEFT-FWD in filter) reached by one commented jump each from
// POSTROUTING and FORWARD, so nobody else's rules are touched and removal is "delete the jump, drop the chain".
// A chain is always rewritten whole, so a restart or a resync never duplicates a rule, and a changed subnet
// replaces the old subnet's rules (flanneld recycles them by hand).
import { formatIpv4Prefix, type Ipv4Prefix } from '@weft/netaddr';

/** One of weft's chains: its table, the base chain that jumps to it, and its rules (iptables argv after `-A CHAIN`). */
export interface OwnChain {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  readonly from: string;
  /** Match of the jump rule (before `-j chain`), a comment naming weft. */
  readonly jump: readonly string[];
  readonly rules: readonly (readonly string[])[];
}

/** The chains a node owns; empty when neither --ip-masq nor --iptables-forward-rules asks for any. */
export type FirewallRuleset = readonly OwnChain[];

export const MASQ_CHAIN = 'WEFT-POSTRTG';
export const FORWARD_CHAIN = 'WEFT-FWD';
/** kube-proxy marks packets it will masquerade itself; masquerading them twice breaks some kernels (flanneld). */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const MULTICAST = '224.0.0.0/4';

const comment = (text: string) => ['-m', 'comment', '--comment', text];

/**
 * flanneld's masquerade rules for pods of `subnet` in `network`: traffic inside the cluster network keeps pod
 * addresses; pod traffic leaving it is masqueraded, multicast excepted; traffic from outside to the cluster
 * network is masqueraded unless it is for this node's own pods.
 */
export function masqueradeRules(network: Ipv4Prefix, subnet: Ipv4Prefix, randomFully = true): OwnChain {
  const net = formatIpv4Prefix(network);
  const pods = formatIpv4Prefix(subnet);
  const c = comment('weft masq');
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  return {
    table: 'nat',
    chain: MASQ_CHAIN,
    from: 'POSTROUTING',
    jump: c,
    rules: [
      ['-m', 'mark', '--mark', KUBE_PROXY_MARK, ...c, '-j', 'RETURN'],
      ['-s', pods, '-d', net, ...c, '-j', 'RETURN'],
      ['-s', net, '-d', pods, ...c, '-j', 'RETURN'],
      ['!', '-s', net, '-d', pods, ...c, '-j', 'RETURN'],
      ['-s', net, '!', '-d', MULTICAST, ...c, ...masq],
      ['!', '-s', net, '-d', net, ...c, ...masq],
    ],
  };
}

/** flanneld's forward rules: accept forwarding from and to the cluster network (Docker sets FORWARD to DROP). */
export function forwardRules(network: Ipv4Prefix): OwnChain {
  const net = formatIpv4Prefix(network);
  const c = comment('weft forward');
  return {
    table: 'filter',
    chain: FORWARD_CHAIN,
    from: 'FORWARD',
    jump: c,
    rules: [
      ['-s', net, ...c, '-j', 'ACCEPT'],
      ['-d', net, ...c, '-j', 'ACCEPT'],
    ],
  };
}

/** The rule set the flags ask for. */
export function flannelRuleset(
  network: Ipv4Prefix,
  subnet: Ipv4Prefix,
  opts: { ipMasq: boolean; forward: boolean },
): FirewallRuleset {
  return [...(opts.ipMasq ? [masqueradeRules(network, subnet)] : []), ...(opts.forward ? [forwardRules(network)] : [])];
}
