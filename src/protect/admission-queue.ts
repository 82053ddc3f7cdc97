// The queue in Sibyl, not in the backends: requests that find every backend at its concurrency
// limit wait here, first in first out, bounded in length and in time. A waiter whose client has
// gone is dropped at once; one past its deadline is shed (the caller answers 503 + Retry-After).
// Time is injected.
import type { Clock } from '../core/clock.ts';

export interface Waiter {
  /** Tries to start the request now (a backend has a free slot); true when it started. */
  tryStart(): boolean;
  /** The deadline passed: the caller sheds the request. */
  onExpired(): void;
}

interface Entry {
  readonly waiter: Waiter;
  cancelTimer: () => void;
  isDone: boolean;
}

export class AdmissionQueue {
  #capacity: number;
  readonly #clock: Clock;
  #entries: Entry[] = [];

  constructor(capacity: number, clock: Clock) {
    this.#capacity = capacity;
    this.#clock = clock;
  }

  /** [load_shedding] max_queue, changed by a reload; waiters beyond a lowered capacity stay until served or expired. */
  set capacity(n: number) {
    this.#capacity = n;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** Returns a cancel function (the client left), or undefined when the queue is full. */
  enqueue(waiter: Waiter, deadlineMs: number): (() => void) | undefined {
    if (this.#entries.length >= this.#capacity) return undefined;
    const entry: Entry = { waiter, cancelTimer: () => {}, isDone: false };
    entry.cancelTimer = this.#clock.setTimer(deadlineMs, () => {
      if (entry.isDone) return;
      this.#remove(entry);
      waiter.onExpired();
    });
    this.#entries.push(entry);
    return () => {
      if (entry.isDone) return;
      this.#remove(entry);
    };
  }

  /** A slot was freed somewhere: start waiters, oldest first, while they can start. */
  pump(): void {
    while (this.#entries.length > 0) {
      const head = this.#entries[0] as Entry;
      if (!head.waiter.tryStart()) return;
      this.#remove(head);
    }
  }

  #remove(entry: Entry): void {
    entry.isDone = true;
    entry.cancelTimer();
    const i = this.#entries.indexOf(entry);
    if (i !== -1) this.#entries.splice(i, 1);
  }
}
