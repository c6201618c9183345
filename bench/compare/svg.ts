// A bar chart a person can read at a glance: one panel per metric, one bar per case (the median), a thin
// line for min..max, the value printed on the bar. Plain SVG, no dependencies.
import type { Row } from '../lib/report.ts';

/** A row of the benchmark contract; the chart needs only its summary fields. */
export type ChartRow = Pick<Row, 'case' | 'metric' | 'unit' | 'median' | 'min' | 'max'>;

const PANEL_W = 420;
const BAR_H = 22;
const LABEL_W = 130;
const COLORS: Record<string, string> = {
  'weft-udp': '#1f77b4',
  'weft-vxlan': '#2ca02c',
  'weft-native': '#17becf',
  'weft-native-bgp': '#9467bd',
  'kernel-vxlan': '#ff7f0e',
  plain: '#7f7f7f',
  openvpn: '#d62728',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(v >= 10 ? 1 : 2);
}

/** Lower is better for these metrics; the panel title says so. */
const LOWER_IS_BETTER = new Set(['latency-p50', 'latency-p99', 'cpu-per-gb']);

function panel(metric: string, rows: ChartRow[], x: number, y: number): string {
  const unit = rows[0]?.unit ?? '';
  const top = Math.max(...rows.map((r) => r.max), 1e-9);
  const scale = (v: number) => ((PANEL_W - LABEL_W - 60) * v) / top;
  const better = LOWER_IS_BETTER.has(metric) ? 'lower is better' : 'higher is better';
  const parts = [`<text x="${x}" y="${y + 14}" font-weight="bold">${esc(metric)} (${esc(unit)}), ${better}</text>`];
  rows.forEach((r, i) => {
    const by = y + 24 + i * (BAR_H + 4);
    const color = COLORS[r.case] ?? '#444';
    parts.push(
      `<text x="${x + LABEL_W - 6}" y="${by + 15}" text-anchor="end">${esc(r.case)}</text>`,
      `<rect x="${x + LABEL_W}" y="${by}" width="${scale(r.median).toFixed(1)}" height="${BAR_H}" fill="${color}"/>`,
      `<line x1="${x + LABEL_W + scale(r.min)}" x2="${x + LABEL_W + scale(r.max)}" y1="${by + BAR_H / 2}" y2="${by + BAR_H / 2}" stroke="#000" stroke-width="1.5"/>`,
      `<text x="${x + LABEL_W + scale(Math.max(r.median, r.max)) + 4}" y="${by + 15}">${fmt(r.median)}</text>`,
    );
  });
  return parts.join('\n');
}

/** Renders rows (any number of cases and metrics) as one SVG document. */
export function barChart(title: string, rows: ChartRow[]): string {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const cases = [...new Set(rows.map((r) => r.case))];
  const panelH = 34 + cases.length * (BAR_H + 4);
  const cols = 2;
  const width = cols * (PANEL_W + 20) + 20;
  const height = 50 + Math.ceil(metrics.length / cols) * (panelH + 16);
  const panels = metrics.map((m, i) =>
    panel(
      m,
      cases.map((c) => rows.find((r) => r.case === c && r.metric === m)).filter((r): r is ChartRow => !!r),
      20 + (i % cols) * (PANEL_W + 20),
      40 + Math.floor(i / cols) * (panelH + 16),
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    ...panels,
    '</svg>',
  ].join('\n');
}
