// The soak's second table: each agent's resident memory, JS heap in use and CPU over time, from /proc and the
// agent's own /metrics, and a verdict per agent process on its memory. Agents restarted by a fault are new
// processes (new PID), so memory is judged per process, over the samples after its first 10 s (start-up
// allocations excluded), in thirds: growth only from the first third to the second is warm-up (V8 growing its
// heap spaces, caches filling); growth from the second third to the last, still going at the end, is what a leak
// looks like. The JS heap in use separates the two better than RSS: a leak in JavaScript objects shows there.

export interface UsageSample {
  /** Seconds since the soak's traffic started. */
  t: number;
  node: string;
  pid: number;
  rssMb: number;
  /** CPU seconds (user + system) the process has used since it started. */
  cpuS: number;
  /** JS heap in use (the agent's weft_nodejs_heap_size_used_bytes), when /metrics answered. */
  heapMb?: number;
}

const WARMUP_S = 10;
/** Growth beyond both of these counts as growth, not noise (GC timing moves RSS by a few MB). */
const GROWTH_MB = 8;
const GROWTH_RATIO = 0.15;
/** Rising by at least this from third to third, and by STEADY_TOTAL_MB or more in all, is steady growth. */
const STEADY_STEP_MB = 1.5;
const STEADY_TOTAL_MB = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** CPU % between consecutive samples of the same process, attributed to the later sample. */
function cpuPercent(samples: readonly UsageSample[]): Map<UsageSample, number> {
  const out = new Map<UsageSample, number>();
  const last = new Map<number, UsageSample>();
  for (const s of samples) {
    const prev = last.get(s.pid);
    if (prev && s.t > prev.t) out.set(s, ((s.cpuS - prev.cpuS) / (s.t - prev.t)) * 100);
    last.set(s.pid, s);
  }
  return out;
}

/**
 * "flat", "warm-up" or "GREW" for one series of (t, MB) in time order, over the thirds of what follows the first
 * 10 s: growth into the last third is growth; growth only into the second is warm-up.
 */
export function memoryVerdict(series: readonly { t: number; mb: number }[]): string {
  const start = series[0]?.t ?? 0;
  const steady = series.filter((s) => s.t - start >= WARMUP_S);
  if (steady.length < 6) return `too short to judge (${series.length} samples)`;
  const third = Math.floor(steady.length / 3);
  const parts = [steady.slice(0, third), steady.slice(third, -third), steady.slice(-third)];
  const [a, b, c] = parts.map((p) => median(p.map((s) => s.mb))) as [number, number, number];
  const grew = (x: number, y: number) => y - x > GROWTH_MB && y > x * (1 + GROWTH_RATIO);
  const span = `${a.toFixed(0)} -> ${b.toFixed(0)} -> ${c.toFixed(0)} MB over ${(steady.at(-1)!.t - steady[0]!.t).toFixed(0)} s`;
  const hours = (steady.at(-1)!.t - steady[0]!.t) / 3600;
  const rate = `${((c - a) / hours / (2 / 3)).toFixed(0)} MB/h`; // a and c: medians two thirds apart
  if (grew(b, c) || (grew(a, c) && c - b > GROWTH_MB / 2))
    return `GREW ${span} (still growing after t=${parts[2]![0]!.t.toFixed(0)} s, ~${rate})`;
  // Slow, steady growth (a leak of a few bytes per packet) stays under the bounds but rises third after third.
  if (b - a >= STEADY_STEP_MB && c - b >= STEADY_STEP_MB && c - a >= STEADY_TOTAL_MB)
    return `GREW steadily ${span} (~${rate})`;
  if (grew(a, b)) return `warm-up, then flat (${span})`;
  return `flat (${span})`;
}

/** memoryVerdict over one process's RSS samples (time order). */
export function rssVerdict(samples: readonly UsageSample[]): string {
  return memoryVerdict(samples.map((s) => ({ t: s.t, mb: s.rssMb })));
}

/** A markdown table: one row per agent process, RSS (heap) / CPU % per time bucket, and the verdicts. */
export function usageTable(samples: readonly UsageSample[], buckets = 6): string {
  const end = Math.max(1, ...samples.map((s) => s.t));
  const width = end / buckets;
  const cpu = cpuPercent(samples);
  // One row per process: by node, then in the order the node's processes started.
  const byNode = [...samples].sort((a, b) => a.node.localeCompare(b.node) || a.t - b.t);
  const pids = [...new Set(byNode.map((s) => `${s.node} ${s.pid}`))];
  const head = [
    `| agent (pid) | ${Array.from({ length: buckets }, (_, i) => `t ${(i * width).toFixed(0)}-${((i + 1) * width).toFixed(0)} s`).join(' | ')} | RSS | JS heap in use |`,
    `|---|${'---|'.repeat(buckets)}---|---|`,
  ];
  const rows = pids.map((key) => {
    const [node, pid] = key.split(' ');
    const mine = samples.filter((s) => s.node === node && String(s.pid) === pid);
    const cells = Array.from({ length: buckets }, (_, i) => {
      const inside = mine.filter((s) => s.t >= i * width && (s.t < (i + 1) * width || i === buckets - 1));
      if (!inside.length) return '-';
      const pct = inside.map((s) => cpu.get(s)).filter((x) => x !== undefined);
      const cpuText = pct.length ? `${(pct.reduce((x, y) => x + y, 0) / pct.length).toFixed(1)}%` : '-';
      const heaps = inside.map((s) => s.heapMb).filter((x) => x !== undefined);
      const heap = heaps.length ? ` (heap ${median(heaps).toFixed(0)})` : '';
      return `${median(inside.map((s) => s.rssMb)).toFixed(0)} MB${heap} / ${cpuText}`;
    });
    const heap = mine.filter((s) => s.heapMb !== undefined).map((s) => ({ t: s.t, mb: s.heapMb! }));
    return `| ${node} (${pid}) | ${cells.join(' | ')} | ${rssVerdict(mine)} | ${memoryVerdict(heap)} |`;
  });
  return [...head, ...rows].join('\n');
}
