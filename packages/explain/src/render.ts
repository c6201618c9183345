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

/** Renders one layer (heading, fields, problems). */
export function renderLayer(layer: ExplainedLayer): string[] {
  const indent = '  '.repeat(layer.depth + 1);
  if (layer.name === 'frame') return [frameHeading(layer)];
  const lines = [`${indent}${layer.title}`];
  for (const f of layer.fields) lines.push(fieldLine(f, `${indent}  `));
  for (const p of layer.problems) {
    lines.push(`${indent}  !! 0x${p.offset.toString(16).padStart(4, '0')} ${p.field ? p.field + ': ' : ''}${p.message}`);
    lines.push(`${indent}     -> ${p.action}`);
  }
  return lines;
}

/** The annotated text view of packets, a blank line between packets. */
export function renderText(packets: readonly ExplainedPacket[]): string {
  return packets.map((p) => p.flatMap(renderLayer).join('\n')).join('\n\n') + '\n';
}

/** The machine view: an array of packets, each an array of layers with their fields and problems. */
export function renderJson(packets: readonly ExplainedPacket[]): string {
  return JSON.stringify(packets, null, 2) + '\n';
}
