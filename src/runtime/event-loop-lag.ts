// How late this process runs its callbacks right now. When the proxy itself is short of CPU, every
// response waits in its event loop before it is seen, and that wait is not the backend's latency:
// the concurrency limiter subtracts it, or a busy proxy would take its own lag for backend overload
// and shed traffic the backends could serve (the live experiment showed exactly that).
import type { Clock } from '../core/clock.ts';

const TICK_MS = 20;
/** The recent lag is the worst of the last few ticks (~100 ms): a response waits behind the worst of them. */
const WINDOW_TICKS = 5;

export class EventLoopLag {
  readonly #clock: Clock;
  readonly #recent: number[] = [];
  #cancel: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The worst callback delay of the last ~100 ms, in ms (0 before start). */
  get recentMs(): number {
    return this.#recent.length === 0 ? 0 : Math.max(...this.#recent);
  }

  start(): void {
    if (this.#cancel !== undefined) return;
    const schedule = (): void => {
      const due = this.#clock.now() + TICK_MS;
      this.#cancel = this.#clock.setTimer(TICK_MS, () => {
        this.#recent.push(Math.max(0, this.#clock.now() - due));
        if (this.#recent.length > WINDOW_TICKS) this.#recent.shift();
        schedule();
      });
    };
    schedule();
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
