// The soak's second table: each agent's resident memory and CPU over time, from /proc samples, and a verdict
// per agent process on whether its memory stayed flat. Agents restarted by a fault are new processes (new PID),
// so growth is judged per process, over the samples after its first 10 s (start-up allocations excluded).

export interface UsageSample {
  /** Seconds since the soak's traffic started. */
  t: number;
  node: string;
  pid: number;
  rssMb: number;
  /** CPU seconds (user + system) the process has used since it started. */
  cpuS: number;
}

const WARMUP_S = 10;
/** Growth beyond both of these counts as growth, not noise (GC timing moves RSS by a few MB). */
const GROWTH_MB = 8;
const GROWTH_RATIO = 0.15;

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

/** "flat" or where memory grew, for one process's samples (time order). */
export function rssVerdict(samples: readonly UsageSample[]): string {
  const start = samples[0]?.t ?? 0;
  const steady = samples.filter((s) => s.t - start >= WARMUP_S);
  if (steady.length < 6) return `too short to judge (${samples.length} samples)`;
  const third = Math.floor(steady.length / 3);
  const early = steady.slice(0, third);
  const late = steady.slice(-third);
  const [a, b] = [median(early.map((s) => s.rssMb)), median(late.map((s) => s.rssMb))];
  const span = `${a.toFixed(0)} -> ${b.toFixed(0)} MB over ${(late.at(-1)!.t - early[0]!.t).toFixed(0)} s`;
  if (b - a > GROWTH_MB && b > a * (1 + GROWTH_RATIO))
    return `GREW ${span} (between t=${early.at(-1)!.t.toFixed(0)} s and t=${late[0]!.t.toFixed(0)} s)`;
  return `flat (${span})`;
}

/** A markdown table: one row per agent process, RSS / CPU % per time bucket, and the verdict. */
export function usageTable(samples: readonly UsageSample[], buckets = 6): string {
  const end = Math.max(1, ...samples.map((s) => s.t));
  const width = end / buckets;
  const cpu = cpuPercent(samples);
  const pids = [...new Set(samples.map((s) => `${s.node} ${s.pid}`))];
  const head = [
    `| agent (pid) | ${Array.from({ length: buckets }, (_, i) => `t ${(i * width).toFixed(0)}-${((i + 1) * width).toFixed(0)} s`).join(' | ')} | memory |`,
    `|---|${'---|'.repeat(buckets)}---|`,
  ];
  const rows = pids.map((key) => {
    const [node, pid] = key.split(' ');
    const mine = samples.filter((s) => s.node === node && String(s.pid) === pid);
    const cells = Array.from({ length: buckets }, (_, i) => {
      const inside = mine.filter((s) => s.t >= i * width && (s.t < (i + 1) * width || i === buckets - 1));
      if (!inside.length) return '-';
      const pct = inside.map((s) => cpu.get(s)).filter((x) => x !== undefined);
      const cpuText = pct.length ? `${(pct.reduce((x, y) => x + y, 0) / pct.length).toFixed(1)}%` : '-';
      return `${median(inside.map((s) => s.rssMb)).toFixed(0)} MB / ${cpuText}`;
    });
    return `| ${node} (${pid}) | ${cells.join(' | ')} | ${rssVerdict(mine)} |`;
  });
  return [...head, ...rows].join('\n');
}
