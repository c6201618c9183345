// @weft/tunnel: TUN devices and batched UDP sockets through one small N-API addon, the batch forwarding loop,
// and in-memory fakes with the same interfaces. The public face is what other packages use: the openers and the
// port contract, the forwarding loop, the fakes, and the errors; devices are created only through the openers, so
// their classes are exported as types. Benchmark-only helpers live at `@weft/tunnel/bench`.
export { PacketBatch, type PacketPort } from './batch.ts';
export {
  type TunDevice,
  openTun,
  configureLink,
  TunOffload,
  TCP_OFFLOADS,
  type TunOptions,
  type TunStats,
  type LinkConfig,
} from './tun.ts';
export { type UdpBatchSocket, openUdp, type UdpOptions, type UdpStats } from './udp.ts';
export {
  type TapSender,
  openTapSender,
  TunnelGsoUnavailableError,
  type TapSenderOptions,
  type TapStats,
} from './tap.ts';
export { forward, type ForwardOptions, type Forwarder, type ForwardCounters, type OnBatch } from './forward.ts';
export { ChannelTun, ChannelBind, ChannelNetwork, type ChannelTunOptions } from './channel.ts';
export { planInnerWrite, InnerVerdict, type InnerWritePlan } from './offload.ts';
export {
  TunnelError,
  TunUnavailableError,
  NotPermittedError,
  DeviceBusyError,
  BadNameError,
  NamespaceError,
  TunnelIoError,
} from './errors.ts';
export { AddonNotBuiltError } from './native.ts';
export { nftGeneration, RulesetGenerationError } from './nft-generation.ts';
