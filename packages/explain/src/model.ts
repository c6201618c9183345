// What the explainer produces: packets as lists of layers, layers as lists of fields. Plain data, so the text
// view, the JSON view and the tests all read the same thing.

/** One field of a header: where it is, its raw bytes, its decoded value, what it means, and where it is defined. */
export interface ExplainedField {
  /** Dotted name, Wireshark-like where one exists ("ip.ttl", "vxlan.vni"). */
  name: string;
  /** Byte offset from the start of the packet (the captured frame or the hex string). */
  offset: number;
  /** Bytes the field occupies (a bit field covers the bytes that hold it). */
  length: number;
  /** The field's bytes in lowercase hex, no separators. */
  hex: string;
  value: string | number | boolean;
  /** A sentence for a student: what this value does here. */
  meaning: string;
  /** Where the field is defined ("RFC 791 §3.1"). */
  rfc: string;
}

/** Something wrong with the packet, and what a receiver does about it. */
export interface ExplainedProblem {
  /** Field name the problem is about, when there is one. */
  field?: string;
  /** Byte offset from the start of the packet. */
  offset: number;
  /** What is wrong. */
  message: string;
  /**
   * What the receiver does: "weft drops it: bad_ip_header" (an encap DropReason name), "NOTIFICATION 3/5 ...,
   * session reset" (a BGP error), or advice for an ordinary host.
   */
  action: string;
  /** Machine-readable verdict: an encap drop reason name or `bgp:<code>/<subcode>`. */
  verdict?: string;
}

export interface ExplainedLayer {
  /** Short protocol name: "frame", "eth", "ip", "ipv6", "udp", "vxlan", "flannel-udp", "icmp", "tcp", "bgp"... */
  name: string;
  /** Heading for the text view ("IPv4 (outer)"). */
  title: string;
  /** Nesting depth: 0 for the outer headers, 1 inside one encapsulation. */
  depth: number;
  offset: number;
  length: number;
  fields: ExplainedField[];
  problems: ExplainedProblem[];
}

/** A packet is its layers, outermost first; the first layer is "frame" (capture metadata). */
export type ExplainedPacket = ExplainedLayer[];
