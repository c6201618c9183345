// Packet capture as the dataplane sees it: an interface only, so @weft/agent needs no capture file format. The CLI
// plugs a pcapng writer in (`weft agent --pcap`); tests may plug a recorder. Absent, it costs one check per packet.

/** Which side of the encapsulation a packet was seen on. */
export enum CaptureSide {
  /** The inner IP packet, as read from or written to the TUN device. */
  Tun = 0,
  /** The UDP payload (VXLAN header + frame, or the flannel-udp IP packet) exchanged with a peer. */
  Wire = 1,
}

export enum CaptureDirection {
  Inbound = 1,
  Outbound = 2,
}

/** A sink for both sides of each forwarded packet. */
export interface PacketCapture {
  /**
   * Records the bytes `[offset, offset + length)` of `buf`. The buffer is the dataplane's slab: copy what you keep
   * before returning. Wire side: `peerAddress` (uint32 IPv4) and `peerPort` name the other end (0 when unknown);
   * over the IPv6 underlay, `peerAddress6` (16 bytes, :: when unknown) names it instead and `peerAddress` is 0.
   * Must not throw for packet content.
   */
  record(
    side: CaptureSide,
    buf: Uint8Array,
    offset: number,
    length: number,
    direction: CaptureDirection,
    peerAddress?: number,
    peerPort?: number,
    peerAddress6?: Uint8Array,
  ): void;
  /** Flushes and releases the sink; called once when the backend stops. */
  close(): void;
}
