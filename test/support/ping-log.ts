// What a `ping -D -O` log says about forwarding between two instants (PingProbe in faults.ts runs the ping).
// Counting only the gaps between replies misses an outage still going on when the window ends (no reply closes
// it: a node that never came back showed "0 lost"); with -O, ping logs "no answer yet for icmp_seq=N" for every
// packet unanswered when the next one goes out, so each packet's fate is in the log, answered or not.

/** How long ping waits for a reply (its -W): an unanswered packet younger than this is not lost yet. */
const ANSWER_WAIT_MS = 1000;

/** One line of ping's log that names a sequence number; `reply` when it is an echo reply. */
export interface PingEvent {
  seq: number;
  /** The line's -D timestamp, ms since the epoch. */
  t: number;
  reply: boolean;
}

/** Packets lost and the longest forwarding stall seen by a probe between two instants (ms since the epoch). */
export interface ProbeWindow {
  sent: number;
  lost: number;
  /** Longest time without progress (ping: between replies, minus one interval; stream: between byte counts). */
  stallMs: number;
}

/**
 * Every line of `log` that names a sequence number (echo reply, "no answer yet", ICMP error), in log order, with
 * sequence numbers unwrapped (icmp_seq is 16 bits: at 10 a second it wraps after 109 minutes).
 */
export function pingEvents(log: string): PingEvent[] {
  const out: PingEvent[] = [];
  let wraps = 0;
  let last = -1;
  for (const m of log.matchAll(/^\[(\d+\.\d+)\] (\d+ bytes from|no answer yet for|From) .*?icmp_seq=(\d+)/gm)) {
    if (last >= 0 && Number(m[3]) + wraps * 65536 < last - 32768) wraps++;
    last = Number(m[3]) + wraps * 65536;
    out.push({ seq: last, t: Number(m[1]) * 1000, reply: m[2]!.endsWith('bytes from') });
  }
  return out;
}

/** The replies among `events` as (sequence number, arrival ms), in log order, duplicates dropped. */
export function pingReplies(events: readonly PingEvent[]): { seq: number; t: number }[] {
  const seen = new Set<number>();
  const out: { seq: number; t: number }[] = [];
  for (const e of events) {
    if (e.reply && !seen.has(e.seq)) out.push({ seq: e.seq, t: e.t });
    if (e.reply) seen.add(e.seq);
  }
  return out;
}

/**
 * Packets sent after the last reply before t0 (the anchor, so an outage that starts at t0 counts in full) whose
 * fate was logged by t1 (answered, or reported unanswered at least a second before t1), how many of them never got a reply (a late reply is
 * no loss), and the longest time without a reply from the anchor up to t1 (an outage still going on at t1 counts
 * up to t1), minus one interval.
 */
export function pingWindow(events: readonly PingEvent[], t0: number, t1: number, intervalMs: number): ProbeWindow {
  const replies = pingReplies(events);
  const upToT1 = replies.filter((r) => r.t <= t1);
  const anchor = upToT1.filter((r) => r.t < t0).at(-1);
  // An unanswered packet logged in the last second may still be answered (ping waits -W 1 s): not yet counted.
  const inside = events.filter((e) => e.t >= t0 && e.t <= t1 && (e.reply || e.t <= t1 - ANSWER_WAIT_MS));
  if (!inside.length) return { sent: 0, lost: 0, stallMs: Math.max(0, Math.round(t1 - (anchor?.t ?? t0))) };
  const first = anchor ? anchor.seq + 1 : Math.min(...inside.map((e) => e.seq));
  const last = Math.max(...inside.map((e) => e.seq));
  const answered = new Set(replies.map((r) => r.seq));
  let lost = 0;
  for (let seq = first; seq <= last; seq++) if (!answered.has(seq)) lost++;
  const times = [anchor?.t ?? t0, ...upToT1.filter((r) => r.t >= t0).map((r) => r.t), t1];
  let stallMs = 0;
  for (let i = 1; i < times.length; i++) stallMs = Math.max(stallMs, times[i]! - times[i - 1]! - intervalMs);
  return { sent: Math.max(0, last - first + 1), lost, stallMs: Math.max(0, Math.round(stallMs)) };
}
