// The one place where the agent's ports meet the machine: the @weft/tunnel addon for TUN and UDP, iproute2 for
// links and routes, iptables for masquerade and forwarding rules. Everything else in @weft/agent takes AgentPorts from its caller.
import { configureLink, openTapSender, openTun, openUdp } from '@weft/tunnel';
import { interfaceInfo, interfaceWithAddress, ipBatch } from './backends/routes.ts';
import { iptablesFirewall } from './backends/iptables.ts';
import type { AgentPorts } from './ports.ts';

/** The real ports: needs CAP_NET_ADMIN (TUN, routes) when used. */
export function systemPorts(): AgentPorts {
  return {
    openTun,
    openUdp,
    openSuperPacketSender: openTapSender,
    openSendUdp: openUdp,
    link: { configureLink: (name, cfg) => configureLink(name, cfg), ipBatch, interfaceInfo, interfaceWithAddress },
    firewall: iptablesFirewall(),
  };
}
