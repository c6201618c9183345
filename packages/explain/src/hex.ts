// Hex input: `xxd -p` output, Wireshark "copy as hex stream", hex with spaces, colons or 0x prefixes, and files
// holding several packets (one per line, or blocks separated by blank lines).

/** Hex text that does not parse, with the character position of the first bad character. */
export class HexInputError extends Error {
  override name = 'HexInputError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** Parses one packet's hex (any separators); throws HexInputError for a non-hex character or an odd digit count. */
export function parseHex(text: string): Buffer {
  const cleaned = text.replace(/0x/gi, '').replace(/[\s:,.\-]/g, '');
  const bad = cleaned.search(/[^0-9a-f]/i);
  if (bad >= 0) throw new HexInputError(`"${cleaned[bad]}" is not a hex digit`, bad);
  if (cleaned.length % 2) throw new HexInputError(`odd number of hex digits (${cleaned.length})`, cleaned.length);
  return Buffer.from(cleaned, 'hex');
}

/**
 * Splits a text of hex into packets. Blank lines separate packets when there are any; otherwise, each line is a
 * packet unless all lines but the last have the same length (wrapped `xxd -p` output, 32 to 64 digits a line: one packet). `#` starts a
 * comment to the end of the line.
 */
export function parseHexPackets(text: string): Buffer[] {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim());
  const blocks: string[][] = [[]];
  for (const l of lines) {
    if (l === '') {
      if (blocks.at(-1)!.length) blocks.push([]);
    } else blocks.at(-1)!.push(l);
  }
  const nonEmpty = blocks.filter((b) => b.length);
  if (nonEmpty.length > 1) return nonEmpty.map((b) => parseHex(b.join('')));
  const only = nonEmpty[0] ?? [];
  const wrapped =
    only.length > 1 &&
    only.slice(0, -1).every((l) => l.length === only[0]!.length) &&
    only.at(-1)!.length <= only[0]!.length &&
    only[0]!.length >= 32 &&
    only[0]!.length <= 64;
  return wrapped ? [parseHex(only.join(''))] : only.map(parseHex);
}
