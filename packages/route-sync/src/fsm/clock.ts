// The clock the FSM's timers run on, injected so tests can jump over a 90-second hold time at once.
import { FsmEventType, TimerKind, type FsmEvent } from './types.ts';

/** A source of time and one-shot timers. Times are in milliseconds. */
export interface Clock {
  now(): number;
  setTimer(ms: number, fire: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** The real clock (timers are unref'd so a forgotten session never keeps a process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fire) => setTimeout(fire, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface FakeTimer {
  at: number;
  seq: number;
  fire: () => void;
}

/** A manual clock: `advance(ms)` fires due timers in time order. For tests and simulations. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fire: () => void): unknown {
    const timer = { at: this.t + ms, seq: this.seq++, fire };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as FakeTimer);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due (including ones set while firing). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.earliest();
      if (!next || next.at > end) break;
      this.timers.delete(next);
      this.t = next.at;
      next.fire();
    }
    this.t = end;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

const EXPIRY_EVENT: Record<TimerKind, FsmEvent> = {
  [TimerKind.ConnectRetry]: { type: FsmEventType.ConnectRetryTimerExpires },
  [TimerKind.Hold]: { type: FsmEventType.HoldTimerExpires },
  [TimerKind.Keepalive]: { type: FsmEventType.KeepaliveTimerExpires },
  [TimerKind.IdleHold]: { type: FsmEventType.IdleHoldTimerExpires },
};

/** Carries out the FSM's startTimer/stopTimer actions on a clock and turns expiries into FSM events. */
export class FsmTimers {
  private readonly handles = new Map<TimerKind, unknown>();

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: (ev: FsmEvent) => void,
  ) {}

  /** (Re)starts a timer; a running one of the same kind is replaced, as §8 "restart" means. */
  start(kind: TimerKind, seconds: number): void {
    this.stop(kind);
    const handle = this.clock.setTimer(seconds * 1000, () => {
      this.handles.delete(kind);
      this.onExpire(EXPIRY_EVENT[kind]);
    });
    this.handles.set(kind, handle);
  }

  stop(kind: TimerKind): void {
    const h = this.handles.get(kind);
    if (h !== undefined) this.clock.clearTimer(h);
    this.handles.delete(kind);
  }

  running(kind: TimerKind): boolean {
    return this.handles.has(kind);
  }

  stopAll(): void {
    for (const kind of [...this.handles.keys()]) this.stop(kind);
  }
}
