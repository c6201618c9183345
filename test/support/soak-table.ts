// The soak's per-fault rows (soak.ts fills them) and how they print: one log line each while the soak runs, and
// the markdown table at its end.

export interface SoakRow {
  fault: string;
  /** Seconds since the soak's traffic started. */
  at: number;
  /** How long the fault itself lasted (agent away, etcd away), seconds. */
  lastedS: number;
  /** From the end of the fault until the lab was consistent again, seconds; null when it never was. */
  recoverS: number | null;
  pingLost: number;
  pingSent: number;
  longestGapS: number;
  /** null: no stream in the lab the fault hit. */
  streamStallS: number | null;
  /** BGP faults: looks at the nodes' kernel routes to BIRD's subnet, and how many found one missing. */
  routeLooks?: { looks: number; missing: number };
  /** What the fault's own checks measured (when traffic resumed, when a lease expired...). */
  notes: string[];
  /** Empty when consistent. */
  problems: string[];
}

const f1 = (x: number) => x.toFixed(1);

const recovered = (r: SoakRow) => (r.recoverS === null ? 'never' : f1(r.recoverS));

function checks(r: SoakRow): string {
  const looks = r.routeLooks ? [`${r.routeLooks.looks - r.routeLooks.missing}/${r.routeLooks.looks} looks`] : [];
  return [...looks, ...r.notes].join('; ') || '-';
}

/** The row as one log line. */
export function rowText(r: SoakRow): string {
  const state = r.problems.length ? `INCONSISTENT: ${r.problems.join('; ')}` : 'consistent';
  const notes = r.notes.length ? `, ${r.notes.join(', ')}` : '';
  return `lasted ${f1(r.lastedS)} s, recovered ${recovered(r)} s later, pings lost ${r.pingLost}/${r.pingSent}${notes}, ${state}`;
}

/** The per-fault markdown table. */
export function faultTable(rows: readonly SoakRow[]): string {
  const head = [
    '| # | at (s) | fault | lasted (s) | recovered after (s) | pings lost | longest ping gap (s) | stream stall (s) | checks | leases, routes, rules, links |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const body = rows.map((r, i) => {
    const stall = r.streamStallS === null ? '-' : f1(r.streamStallS);
    const state = r.problems.length ? `NO: ${r.problems.join('; ')}` : 'consistent';
    return `| ${i + 1} | ${f1(r.at)} | ${r.fault} | ${f1(r.lastedS)} | ${recovered(r)} | ${r.pingLost}/${r.pingSent} | ${f1(r.longestGapS)} | ${stall} | ${checks(r)} | ${state} |`;
  });
  return [...head, ...body].join('\n');
}

/** Per fault kind: how often it ran, how many rows were inconsistent, and the worst recovery and ping gap. */
export function faultSummary(rows: readonly SoakRow[]): string {
  const kinds = [...new Set(rows.map((r) => r.fault))];
  const lines = kinds.map((k) => {
    const mine = rows.filter((r) => r.fault === k);
    const bad = mine.filter((r) => r.problems.length).length;
    const worstRecover = mine.some((r) => r.recoverS === null)
      ? 'never'
      : `${f1(Math.max(...mine.map((r) => r.recoverS!)))} s`;
    const worstGap = f1(Math.max(...mine.map((r) => r.longestGapS)));
    return `${k}: ${mine.length}x, ${bad} inconsistent, slowest recovery ${worstRecover}, longest ping gap ${worstGap} s`;
  });
  return lines.join('\n');
}
