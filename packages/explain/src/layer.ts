// Building layers: a small helper that slices raw bytes for each field, so decoders only say where and what.
import type { ExplainedField, ExplainedLayer, ExplainedProblem } from './model.ts';

/** Lowercase hex of `buf[offset, offset + length)`, clipped to the buffer. */
export function hexOf(buf: Uint8Array, offset: number, length: number): string {
  let s = '';
  const end = Math.min(buf.length, offset + length);
  for (let i = Math.max(0, offset); i < end; i++) s += buf[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Accumulates the fields and problems of one layer over the packet buffer. */
export class LayerBuilder {
  readonly layer: ExplainedLayer;

  constructor(
    readonly buf: Uint8Array,
    name: string,
    title: string,
    depth: number,
    offset: number,
    readonly rfc: string,
  ) {
    this.layer = { name, title, depth, offset, length: 0, fields: [], problems: [] };
  }

  /** Adds a field; `rfc` defaults to the layer's. Extends the layer's length to cover it. */
  field(
    name: string,
    offset: number,
    length: number,
    value: ExplainedField['value'],
    meaning: string,
    rfc = this.rfc,
  ): this {
    const fits = Math.max(0, Math.min(length, this.buf.length - offset));
    this.layer.fields.push({ name, offset, length: fits, hex: hexOf(this.buf, offset, fits), value, meaning, rfc });
    this.layer.length = Math.max(this.layer.length, offset + fits - this.layer.offset);
    return this;
  }

  problem(p: ExplainedProblem): this {
    this.layer.problems.push(p);
    return this;
  }

  /** The name of the field covering `offset`, if any (to point a decoder's error at a field). */
  fieldAt(offset: number): string | undefined {
    return this.layer.fields.find((f) => offset >= f.offset && offset < f.offset + Math.max(f.length, 1))?.name;
  }
}
