// @weft/explain: protocol teaching tools. A pure explainer (bytes in, annotated layers out: offset, raw bytes,
// field, value, meaning, RFC section, and what a receiver does with a malformed packet), the text and JSON views,
// hex input parsing, a pcap/pcapng reader, and the pcapng capture writer the agent's dataplane calls.
export type { ExplainedField, ExplainedLayer, ExplainedPacket, ExplainedProblem } from './model.ts';
export type { ExplainOptions, StartLayer } from './decode/context.ts';
export { Explainer, explainPackets, looksLikeIp, LinkType, type FrameMeta } from './explain.ts';
export { renderText, renderJson, renderLayer, summarize } from './render.ts';
export { parseHex, parseHexPackets, HexInputError } from './hex.ts';
export { readCapture, captureKind, CaptureFormatError, type CapturedPacket } from './pcap-reader.ts';
export {
  PcapngWriter, CaptureSide, CaptureDirection, CAPTURE_OUTER_HEADER_LENGTH, type CaptureSink, type CaptureStats, type PcapngWriterOptions,
} from './pcapng-writer.ts';
