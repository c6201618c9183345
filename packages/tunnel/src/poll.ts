// One libuv poll handle per descriptor serves both directions: this keeps the two callbacks and the event mask.
const READABLE = 1;
const WRITABLE = 2;

interface Pollable {
  poll(events: number, cb: (status: number, events: number) => void): void;
  stopPoll(): void;
}

export class PollMux {
  private readCb: (() => void) | null = null;
  private writeCb: (() => void) | null = null;
  private readonly dispatch = (status: number, events: number): void => {
    // status < 0 (e.g. EBADF after close) wakes both sides so their next call reports the error.
    if ((events & WRITABLE || status < 0) && this.writeCb) this.writeCb();
    if ((events & READABLE || status < 0) && this.readCb) this.readCb();
  };

  constructor(private readonly target: Pollable) {}

  onReadable(cb: (() => void) | null): void {
    this.readCb = cb;
    this.update();
  }

  onWritable(cb: (() => void) | null): void {
    this.writeCb = cb;
    this.update();
  }

  private update(): void {
    const events = (this.readCb ? READABLE : 0) | (this.writeCb ? WRITABLE : 0);
    if (events) this.target.poll(events, this.dispatch);
    else this.target.stopPoll();
  }
}
