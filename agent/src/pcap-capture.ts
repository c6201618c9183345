// `weft agent --pcap FILE`: the agent's PacketCapture interface backed by @weft/explain's pcapng writer. The CLI
// is the one place that knows both, so @weft/agent stays free of any capture file format.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { CaptureDirection, CaptureSide, type PacketCapture } from '@weft/agent';
import { CaptureDirection as PcapDirection, CaptureSide as PcapSide, PcapngWriter } from '@weft/explain';

/** The agent's side and direction values mapped to the writer's (interface IDs and epb_flags bits). */
const SIDES: Record<CaptureSide, PcapSide> = { [CaptureSide.Tun]: PcapSide.Tun, [CaptureSide.Wire]: PcapSide.Wire };
const DIRECTIONS: Record<CaptureDirection, PcapDirection> = {
  [CaptureDirection.Inbound]: PcapDirection.Inbound,
  [CaptureDirection.Outbound]: PcapDirection.Outbound,
};

/**
 * Returns an opener for DaemonExtras.openCapture that writes pcapng to `path` (directories created, file
 * truncated, bounded to 64 MiB by the writer). Throws from the opener when the file cannot be created.
 */
export function pcapCapture(
  path: string,
  log: Logger,
): (local: { localAddress: number; localPort: number; localAddress6?: Uint8Array }) => PacketCapture {
  return (local) => {
    mkdirSync(dirname(path), { recursive: true });
    const writer = PcapngWriter.open(path, local);
    log.info({ file: path }, 'capturing both sides of the encapsulation (pcapng, bounded to 64 MiB)');
    return {
      record: (side, buf, offset, length, direction, peerAddress = 0, peerPort = 0, peerAddress6) => {
        writer.record(SIDES[side], buf, offset, length, DIRECTIONS[direction], peerAddress, peerPort, peerAddress6);
      },
      close: () => writer.close(),
    };
  };
}
