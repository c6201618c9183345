// Log lines for batches of peer changes: a batch at start or after a store outage can carry every lease of a
// 5,000-node cluster, and one log line listing them all helps nobody. Small batches are listed in full; large
// ones as counts and a few examples.
import { formatIpv4Prefix as formatIp4Net, formatIpv6Prefix } from '@weft/netaddr';
import { hasIpv4Subnet } from '../subnet-key.ts';
import type { PeerChange } from './types.ts';

/** Batches up to this many changes are listed in full. */
export const LISTED_CHANGES = 8;
/** Examples a summary of a larger batch shows. */
const EXAMPLES = 3;

export interface ChangeSummary {
  added: number;
  removed: number;
  /** Every change (small batches) or the first few, as `added 10.244.1.0/24 via 192.0.2.1`. */
  changes: string[];
  /** Changes not listed in `changes`. */
  more?: number;
}

/** One change as an operator reads it. */
export function describeChange(c: PeerChange): string {
  if (!hasIpv4Subnet(c.subnet) && c.ipv6) return `${c.type} ${formatIpv6Prefix(c.ipv6.subnet)} via ${c.ipv6.publicIp}`;
  return `${c.type} ${formatIp4Net(c.subnet)} via ${c.publicIp}`;
}

/** Counts and the first changes of a batch (all of them when there are at most LISTED_CHANGES). */
export function summarizeChanges(changes: readonly PeerChange[]): ChangeSummary {
  let added = 0;
  for (const c of changes) if (c.type === 'added') added++;
  const shown = changes.length <= LISTED_CHANGES ? changes : changes.slice(0, EXAMPLES);
  const summary: ChangeSummary = { added, removed: changes.length - added, changes: shown.map(describeChange) };
  if (shown.length < changes.length) summary.more = changes.length - shown.length;
  return summary;
}

/** Command lines as logged: all of a small batch, else the count and the first few. */
export function summarizeLines(lines: readonly string[]): { count: number; lines: string[]; more?: number } {
  if (lines.length <= LISTED_CHANGES) return { count: lines.length, lines: [...lines] };
  return { count: lines.length, lines: lines.slice(0, EXAMPLES), more: lines.length - EXAMPLES };
}
