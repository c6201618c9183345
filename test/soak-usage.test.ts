// The soak's memory verdicts (support/soak-usage.ts): growth that stops after the first third is warm-up, growth
// into the last third is growth, GC noise is flat; the usage table prints RSS, JS heap and CPU per time bucket.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryVerdict, usageTable, type UsageSample } from './support/soak-usage.ts';

/** One sample every 5 s for `seconds`, MB from `mb(t)`. */
const series = (seconds: number, mb: (t: number) => number) =>
  Array.from({ length: seconds / 5 + 1 }, (_, i) => ({ t: i * 5, mb: mb(i * 5) }));

test('steady memory with GC noise is flat', () => {
  assert.match(memoryVerdict(series(900, (t) => 80 + ((t / 5) % 3) * 2)), /^flat \(/);
});

test('growth in the first third only is warm-up', () => {
  assert.match(memoryVerdict(series(900, (t) => (t < 300 ? 70 + t / 10 : 100))), /^warm-up, then flat \(/);
});

test('growth that goes on to the end is growth, with when it was still growing', () => {
  const v = memoryVerdict(series(900, (t) => 70 + t / 20));
  assert.match(v, /^GREW \d+ -> \d+ -> \d+ MB over \d+ s \(still growing after t=\d+ s, ~\d+ MB\/h\)$/);
});

test('slow growth third after third is growth, though under the bounds of a jump', () => {
  // n1 in a 15-minute soak: 77 -> 80 -> 83 MB (RSS)
  const v = memoryVerdict(series(900, (t) => 77 + t / 150 + ((t / 5) % 2)));
  assert.match(v, /^GREW steadily \d+ -> \d+ -> \d+ MB over \d+ s \(~\d+ MB\/h\)$/);
});

test('a short life is not judged', () => {
  assert.match(memoryVerdict(series(20, () => 80)), /^too short to judge/);
});

test('usage table: one row per process, RSS (heap) / CPU % per bucket, both verdicts', () => {
  const samples: UsageSample[] = [];
  for (let t = 0; t <= 600; t += 5) {
    samples.push({ t, node: 'n1', pid: 10, rssMb: 80, cpuS: t * 0.01, heapMb: 20 });
    if (t >= 300) samples.push({ t, node: 'n2', pid: 11, rssMb: 60 + (t - 300) / 5, cpuS: (t - 300) * 0.02 });
  }
  const table = usageTable(samples, 3).split('\n');
  assert.is(table.length, 4);
  assert.match(table[2]!, /^\| n1 \(10\) \| 80 MB \(heap 20\) \/ 1\.0% \| .* \| flat \(.*\) \| flat \(.*\) \|$/);
  assert.match(table[3]!, /^\| n2 \(11\) \| - \| .*2\.0% \| GREW .* \| too short to judge \(0 samples\) \|$/);
});

test.run();
