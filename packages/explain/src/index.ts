// @weft/explain: protocol teaching tools. A pure explainer (bytes in, annotated layers out: offset, raw bytes,
// field, value, meaning, RFC section, and what a receiver does with a malformed packet), the text and JSON views,
// hex input parsing, a pcap/pcapng reader, and the pcapng capture writer the CLI plugs into the agent.
//
// The public face is what the CLI (weft explain, weft trace, --pcap) and the docs generator use, with the shapes
// they receive and the options they pass; helpers only this package's tests need are reached through their modules.
export type { ExplainedField, ExplainedLayer, ExplainedPacket, ExplainedProblem } from './model.ts';
export type { ExplainOptions, StartLayer } from './decode/context.ts';
export { Explainer, type FrameMeta } from './explain.ts';
export { renderText, renderJson, summarize } from './render.ts';
export { parseHexPackets, HexInputError } from './hex.ts';
export { readCapture, captureKind, CaptureFormatError, type CapturedPacket } from './pcap-reader.ts';
export {
  PcapngWriter,
  CaptureSide,
  CaptureDirection,
  type CaptureStats,
  type PcapngWriterOptions,
} from './pcapng-writer.ts';
