// The simulated clock: callbacks run in time order on the shared event heap (sim/event-queue.ts),
// ties broken by rank then insertion order, so a run depends only on its seed.
import { EventQueue } from '../event-queue.ts';

interface Entry {
  readonly atMs: number;
  readonly rank: number;
  readonly run: () => void;
}

/** Ranks for simultaneous events: completions free capacity before new work arrives. */
export const Rank = { completion: 0, timer: 1, arrival: 2 } as const;

export class Agenda {
  readonly #queue = new EventQueue<Entry>();
  #nowMs = 0;

  get nowMs(): number {
    return this.#nowMs;
  }

  at(atMs: number, run: () => void, rank: number = Rank.timer): void {
    this.#queue.push({ atMs: Math.max(atMs, this.#nowMs), rank, run });
  }

  /** Runs every event up to endMs (inclusive); later events are dropped with the run. */
  runUntil(endMs: number): void {
    for (;;) {
      const entry = this.#queue.pop();
      if (entry === undefined || entry.atMs > endMs) return;
      this.#nowMs = entry.atMs;
      entry.run();
    }
  }
}
