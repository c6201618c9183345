// @weft/tunnel: TUN devices and batched UDP sockets through one small N-API addon, the batch forwarding loop,
// and in-memory fakes with the same interfaces.
export { PacketBatch, type PacketPort, DEFAULT_BATCH_SIZE, DEFAULT_HEADROOM, DEFAULT_SLOT_SIZE } from './batch.ts';
export {
  TunDevice, openTun, configureLink, TunOffload, TCP_OFFLOADS, MIN_OFFLOAD_BATCH_SIZE, type TunOptions, type TunStats, type LinkConfig,
} from './tun.ts';
export { UdpBatchSocket, openUdp, type UdpOptions, type UdpStats } from './udp.ts';
export { TapSender, openTapSender, TunnelGsoUnavailableError, type TapSenderOptions, type TapStats } from './tap.ts';
export { forward, type ForwardOptions, type Forwarder, type ForwardCounters, type OnBatch } from './forward.ts';
export { ChannelTun, ChannelBind, ChannelNetwork, type ChannelTunOptions } from './channel.ts';
export {
  splitSuperPacket, coalesceSegments, checksumOk, planInnerWrite, InnerVerdict, type InnerWritePlan, VNET_HDR_LENGTH, SplitResult,
  CoalesceWhy,
} from './offload.ts';
export { splitSuperPacketTs } from './split-ts.ts';
export {
  TunnelError, TunUnavailableError, NotPermittedError, DeviceBusyError, BadNameError, NamespaceError, TunnelIoError,
} from './errors.ts';
export { AddonNotBuiltError } from './native.ts';
