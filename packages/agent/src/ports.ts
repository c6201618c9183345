// The agent's ports: everything the backends need from the machine, handed in from outside (wireguard-go's
// tun.Device and conn.Bind seams). systemPorts() (system-ports.ts) wires the real addon and iproute2; tests pass
// @weft/tunnel's in-memory ChannelTun/ChannelBind and a recording link programmer, so the packet path (routing,
// encapsulation, anti-spoofing, drops) runs without root.
import type { Logger } from 'pino';
import type { FirewallRuleset } from './firewall.ts';
import type { LinkConfig, PacketPort, TapSenderOptions, TunOptions, UdpOptions } from '@weft/tunnel';

/** A TUN device as the overlay backend uses it: the batch port contract, nothing more. */
export type TunPort = PacketPort;

/** A UDP socket whose destinations are peer indexes registered in advance (UdpBatchSocket, ChannelBind). */
export interface UdpPort extends PacketPort {
  /** Registers (or replaces) peer `index` as address:port; throws on an address the socket cannot reach. */
  addPeer(index: number, address: string, port: number): void;
  removePeer(index: number): void;
  /** Whether UDP GSO / GRO are in effect (absent on ports without offloads, such as the fakes). */
  readonly gso?: boolean;
  readonly gro?: boolean;
  /** The bound local port (UdpBatchSocket has it; fakes may not). */
  readonly port?: number;
  /** Makes this socket use `other`'s peer table (same family; real sockets only): one copy for a pool. */
  sharePeers?(other: UdpPort): void;
}

/**
 * The super-packet send path (TapSender): each encapsulated packet, super-packets included, handed to the kernel
 * whole; the kernel segments on the underlay. Writes take packets from a TUN opened with `whole: true`.
 */
export interface SuperPacketPort extends PacketPort {
  /** Outer UDP source port per packet of the batch being written (the caller's flow hash). */
  readonly sourcePorts: Int32Array;
  addPeer(index: number, address: string, port: number): void;
  removePeer(index: number): void;
}

/** Links, addresses and routes: iproute2 on a real machine, a recorder in tests. */
export interface LinkProgrammer {
  /** Sets MTU and txqueuelen, replaces addresses, brings the link up, and routes `cfg.routes` through it. */
  configureLink(name: string, cfg: LinkConfig): Promise<void>;
  /**
   * Applies `ip` command lines (without the leading `ip`) as one batch, each logged on `log` as the command an
   * operator would type. Rejects with RouteCommandError, unless `force` (then failed lines are only logged).
   */
  ipBatch(log: Logger, lines: readonly string[], opts?: { force?: boolean }): Promise<void>;
  /**
   * MTU and first IPv4 address of an interface, with that address's prefix length where known, and its IPv6
   * addresses with theirs (vxlan DirectRouting's L2 subnets); rejects when there is no such interface.
   */
  interfaceInfo(name: string): Promise<InterfaceInfo>;
  /** The interface holding `address` (for --public-ip without --iface), or null. */
  interfaceWithAddress(address: string): Promise<{ name: string; mtu: number } | null>;
}

/** What LinkProgrammer.interfaceInfo reports of one interface. */
export interface InterfaceInfo {
  mtu: number;
  address: string | null;
  prefixLen?: number;
  /** The interface's IPv6 addresses (any scope) with their prefix lengths; absent where unknown. */
  addresses6?: { address: string; prefixLen: number }[];
}

/** Masquerade and forwarding rules (firewall.ts): iptables on a real machine, a recorder in tests. */
export interface FirewallProgrammer {
  /**
   * Makes each chain of `ruleset` hold exactly its rules and be reached by one jump from its base chain.
   * Idempotent: applying twice leaves one copy. Rejects (FirewallCommandError) when the kernel refuses.
   */
  apply(log: Logger, ruleset: FirewallRuleset): Promise<void>;
  /** Removes the jumps to the ruleset's chains and the chains; what is already gone is skipped. Never rejects. */
  remove(log: Logger, ruleset: FirewallRuleset): Promise<void>;
}

/** What a node's dataplane is built from. Openers throw the port's own errors (e.g. NotPermittedError). */
export interface AgentPorts {
  openTun(opts: TunOptions): TunPort;
  openUdp(opts: UdpOptions): UdpPort;
  /**
   * Opens the super-packet send path; rejects (TunnelGsoUnavailableError) where the kernel or the host's settings
   * cannot carry it. Absent: the overlay keeps its socket path (how `--no-super-packets` turns it off).
   */
  openSuperPacketSender?(opts: TapSenderOptions): Promise<SuperPacketPort>;
  /**
   * Opens a send-only UDP socket (port 0: an ephemeral one). The socket path sends from a few of these, one per
   * flow hash, for per-flow outer source ports (socket-pool.ts). Absent: every datagram leaves the bound port.
   */
  openSendUdp?(opts: UdpOptions): UdpPort;
  link: LinkProgrammer;
  /** --ip-masq and --iptables-forward-rules; absent: the agent warns when they are asked for and installs nothing. */
  firewall?: FirewallProgrammer;
}
