// A task that runs every intervalMs after its previous run has ended (runs never overlap: a slow
// shared store delays the next sync instead of piling them up), on the runtime's clock. stop()
// waits for a run in progress.
import type { Clock } from '../core/clock.ts';

export class SerialTimer {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #run: () => Promise<void>;
  #cancel: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #isStopped = false;

  constructor(clock: Clock, intervalMs: number, run: () => Promise<void>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#run = run;
  }

  start(): void {
    const loop = (): void => {
      this.#running = this.#run().finally(() => {
        if (!this.#isStopped) this.#cancel = this.#clock.setTimer(this.#intervalMs, loop);
      });
    };
    this.#cancel = this.#clock.setTimer(this.#intervalMs, loop);
  }

  async stop(): Promise<void> {
    this.#isStopped = true;
    this.#cancel?.();
    await this.#running;
  }
}
