import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../core/clock.ts';
import { EventLoopLag } from './event-loop-lag.ts';

/** A clock whose due timers run only when the test lets time jump: as a busy event loop runs them, late. */
class StallingClock implements Clock {
  #now = 0;
  #timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.#now;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => (this.#timers = this.#timers.filter((t) => t !== timer));
  }
  /** Time jumps by ms; the timers due by then run at the new time. */
  jump(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
  }
}

test('recentMs is the worst tick delay of the last ~100 ms, and forgets older delays', () => {
  const clock = new StallingClock();
  const lag = new EventLoopLag(clock);
  lag.start();
  assert.equal(lag.recentMs, 0);
  clock.jump(20); // on time
  assert.equal(lag.recentMs, 0);
  clock.jump(90); // a tick due after 20 ms runs 70 ms late
  assert.equal(lag.recentMs, 70);
  for (let i = 0; i < 4; i++) clock.jump(20);
  assert.equal(lag.recentMs, 70, 'still within the window');
  clock.jump(20);
  assert.equal(lag.recentMs, 0, 'after five on-time ticks the stall is forgotten');
  lag.stop();
  clock.jump(200);
  assert.equal(lag.recentMs, 0);
});
