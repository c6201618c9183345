// The text view for students: a heading per layer, indented by encapsulation depth, one line per field
// (offset, raw bytes, field name, value, meaning, RFC section), and problems marked "!!" with the receiver's action.
import type { ExplainedField, ExplainedLayer, ExplainedPacket } from './model.ts';

const SHOWN_BYTES = 8;

function hexColumn(f: ExplainedField): string {
  const bytes = f.hex.match(/../g) ?? [];
  const shown = bytes.slice(0, SHOWN_BYTES).join(' ');
  return bytes.length > SHOWN_BYTES ? `${shown} ..` : shown;
}

function fieldLine(f: ExplainedField, indent: string): string {
  const off = `0x${f.offset.toString(16).padStart(4, '0')}`;
  return `${indent}${off}  ${hexColumn(f).padEnd(26)} ${f.name.padEnd(34)} ${String(f.value).padEnd(20)} ${f.meaning}   ${f.rfc === '-' ? '' : f.rfc}`.trimEnd();
}

function frameHeading(layer: ExplainedLayer): string {
  const v = (n: string) => layer.fields.find((f) => f.name === n);
  const parts = [`${v('frame.len')?.value} bytes`];
  const t = v('frame.time_epoch');
  if (t) parts.push(t.meaning);
  const i = v('frame.interface_id');
  if (i) parts.push(i.meaning);
  const s = v('frame.start');
  if (s && !i) parts.push(`decoded from ${s.value}`);
  return `${layer.title}: ${parts.join(', ')}`;
}

/** One line a student can read first: who talks to whom, through which tunnel, with what. */
export function summarize(packet: ExplainedPacket): string {
  const parts: string[] = [];
  for (const l of packet) {
    const v = (n: string) => l.fields.find((f) => f.name === n);
    if (l.name === 'ip' || l.name === 'ipv6') {
      const p = l.name === 'ip' ? 'ip' : 'ipv6';
      if (v(`${p}.src`))
        parts.push(`${parts.length ? 'carrying ' : ''}${v(`${p}.src`)!.value} > ${v(`${p}.dst`)!.value}`);
    } else if (l.name === 'vxlan' && v('vxlan.vni')) parts.push(`VXLAN VNI ${v('vxlan.vni')!.value}`);
    else if (l.name === 'flannel-udp') parts.push('flannel-udp');
    else if (l.name === 'udp' && v('udp.dstport'))
      parts.push(`UDP ${v('udp.srcport')!.value} > ${v('udp.dstport')!.value}`);
    else if (l.name === 'tcp' && v('tcp.dstport'))
      parts.push(
        `TCP ${v('tcp.srcport')!.value} > ${v('tcp.dstport')!.value} [${String(v('tcp.hdr_len/flags')?.value).split(' / ')[1]}]`,
      );
    else if (l.name === 'icmp' || l.name === 'icmpv6') parts.push(l.fields[0]?.meaning ?? l.name);
    else if (l.name === 'arp') parts.push(`ARP ${v('arp.opcode')?.meaning ?? ''}`);
    else if (l.name === 'bgp') parts.push(l.title);
  }
  const problems = packet.reduce((n, l) => n + l.problems.length, 0);
  return parts.join(', ') + (problems ? `  !! ${problems} problem${problems > 1 ? 's' : ''}` : '');
}

/** Renders one layer (heading, fields, problems). */
export function renderLayer(layer: ExplainedLayer): string[] {
  const indent = '  '.repeat(layer.depth + 1);
  if (layer.name === 'frame') return [frameHeading(layer)];
  const lines = [`${indent}${layer.title}`];
  for (const f of layer.fields) lines.push(fieldLine(f, `${indent}  `));
  for (const p of layer.problems) {
    lines.push(
      `${indent}  !! 0x${p.offset.toString(16).padStart(4, '0')} ${p.field ? p.field + ': ' : ''}${p.message}`,
    );
    lines.push(`${indent}     -> ${p.action}`);
  }
  return lines;
}

/** The annotated text view of packets, a blank line between packets. */
export function renderText(packets: readonly ExplainedPacket[]): string {
  return (
    packets
      .map((p) => [...renderLayer(p[0]!), `  ${summarize(p)}`, ...p.slice(1).flatMap(renderLayer)].join('\n'))
      .join('\n\n') + '\n'
  );
}

/** The machine view: an array of packets, each an array of layers with their fields and problems. */
export function renderJson(packets: readonly ExplainedPacket[]): string {
  return JSON.stringify(packets, null, 2) + '\n';
}
