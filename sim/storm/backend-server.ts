// A capacity-limited backend, as a real server behaves: `workers` requests are served at once,
// the excess waits in the accept queue (FIFO), and beyond the backlog connections are refused.
// Under contention (a long queue: memory, GC, context switches) every request gets slower.
// At 90 % utilisation the queue stays short, so this only bites once a backend is overloaded.
// A server never notices that a client went away: an abandoned request is still served (waste).
import type { ErrorKind } from '../../src/core/outcome.ts';
import type { Rng } from '../../src/core/rng.ts';
import { Rank, type Agenda } from './agenda.ts';
import type { FleetSpec } from './scenarios.ts';

export interface BackendJob {
  /** True once nobody waits for the answer any more (the client gave up). */
  isAbandoned(): boolean;
  onDone(status: number, errorKind: ErrorKind): void;
}

export interface BackendMode {
  readonly capacityFactor: number;
  readonly slowFactor: number;
  readonly isFailingFast: boolean;
}

export const NORMAL_MODE: BackendMode = { capacityFactor: 1, slowFactor: 1, isFailingFast: false };

const FAIL_FAST_MS = 2;
const REFUSE_MS = 1;

export class BackendServer {
  readonly id: string;
  readonly #fleet: FleetSpec;
  readonly #agenda: Agenda;
  readonly #rng: Rng;
  readonly #onServed: (isWasted: boolean) => void;
  readonly #queue: BackendJob[] = [];
  #head = 0;
  #busy = 0;
  #mode: BackendMode = NORMAL_MODE;

  constructor(id: string, fleet: FleetSpec, deps: { agenda: Agenda; rng: Rng; onServed: (isWasted: boolean) => void }) {
    this.id = id;
    this.#fleet = fleet;
    this.#agenda = deps.agenda;
    this.#rng = deps.rng;
    this.#onServed = deps.onServed;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  setMode(mode: BackendMode): void {
    this.#mode = mode;
    this.#startWaiting();
  }

  accept(job: BackendJob): void {
    const now = this.#agenda.nowMs;
    if (this.#mode.isFailingFast) {
      this.#agenda.at(now + FAIL_FAST_MS, () => job.onDone(503, 'none'), Rank.completion);
      return;
    }
    if (this.#busy < this.#workers()) return this.#start(job);
    if (this.queued >= this.#fleet.backlog) {
      this.#agenda.at(now + REFUSE_MS, () => job.onDone(0, 'refused'), Rank.completion);
      return;
    }
    this.#queue.push(job);
  }

  #workers(): number {
    return Math.max(1, Math.round(this.#fleet.workers * this.#mode.capacityFactor));
  }

  #serviceMs(): number {
    const contention = 1 + (this.#fleet.contention * this.queued) / this.#fleet.backlog;
    const spread = this.#fleet.serviceSpread;
    return this.#fleet.serviceMs * (1 - spread + 2 * spread * this.#rng.next()) * this.#mode.slowFactor * contention;
  }

  #start(job: BackendJob): void {
    this.#busy++;
    this.#agenda.at(
      this.#agenda.nowMs + this.#serviceMs(),
      () => {
        this.#busy--;
        this.#onServed(job.isAbandoned());
        job.onDone(200, 'none');
        this.#startWaiting();
      },
      Rank.completion,
    );
  }

  #startWaiting(): void {
    while (this.#busy < this.#workers() && this.queued > 0) {
      const job = this.#queue[this.#head++] as BackendJob;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#start(job);
    }
  }
}
