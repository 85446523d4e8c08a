/**
 * At most `perSecond` message starts in any window of one second (a quota such as "14/s" is
 * met at every instant, bursts included). For a fractional rate the window stretches: 0.5/s
 * is one start per two seconds.
 */
export class RateGate {
  private readonly starts: Float64Array;
  private readonly spanMs: number;
  private next = 0;
  private count = 0;

  constructor(
    perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const slots = perSecond > 0 ? Math.max(1, Math.floor(perSecond)) : 0;
    this.starts = new Float64Array(slots);
    this.spanMs = slots ? (1000 * slots) / perSecond : 0;
  }

  /** 0 when a message may start now (and counts it), otherwise the ms to wait. */
  take(): number {
    if (!this.starts.length) return 0;
    const t = this.now();
    if (this.count === this.starts.length) {
      const wait = this.starts[this.next]! + this.spanMs - t;
      if (wait > 0) return Math.ceil(wait);
    } else this.count++;
    this.starts[this.next] = t;
    this.next = (this.next + 1) % this.starts.length;
    return 0;
  }
}
