// Small byte helpers shared by the codec files. Callers check bounds first (RFC-cited checks live at call sites).

/** A copy of `buf[start, end)` as a plain Uint8Array (Buffer#slice would alias the caller's chunk). */
export function copyBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.subarray(start, end));
}

/** Big-endian unsigned 32-bit read. */
export function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

/** Big-endian 32-bit write; returns 4. */
export function writeU32(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v >>> 24;
  buf[o + 1] = (v >>> 16) & 0xff;
  buf[o + 2] = (v >>> 8) & 0xff;
  buf[o + 3] = v & 0xff;
  return 4;
}
