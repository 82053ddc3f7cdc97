// Active health checking: probes every target on its own schedule and reports each result.
// The health state machine (health-state.ts) lives with the caller; this class only owns timers
// and in-flight probes, which is why it is a class with a lifecycle.
import type { Clock } from '../core/clock.ts';
import type { Rng } from '../core/rng.ts';
import type { HealthProbe, ProbeTarget } from './probe.ts';

export interface ActiveHealthCheckerOptions {
  readonly intervalMs: number;
  /** Each probe is aborted and counted as a failure after this long. */
  readonly timeoutMs: number;
  /** Each interval is intervalMs * (1 ± jitterFraction), so checks of many targets spread out. */
  readonly jitterFraction: number;
}

export interface ActiveHealthCheckerDeps {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly probe: HealthProbe;
  readonly onResult: (id: string, success: boolean) => void;
}

export interface HealthCheckTarget extends ProbeTarget {
  readonly id: string;
}

interface Schedule {
  readonly target: HealthCheckTarget;
  cancelTimer: (() => void) | undefined;
  inFlight: AbortController | undefined;
  /** Set when the target was removed or the checker stopped: late results are dropped. */
  isCancelled: boolean;
}

function validate(options: ActiveHealthCheckerOptions): void {
  if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
  if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  if (!(options.jitterFraction >= 0 && options.jitterFraction <= 1)) throw new RangeError('jitterFraction must be in [0, 1]');
}

export class ActiveHealthChecker {
  readonly #options: ActiveHealthCheckerOptions;
  readonly #deps: ActiveHealthCheckerDeps;
  #schedules = new Map<string, Schedule>();
  readonly #running = new Set<Promise<void>>();
  #isStarted = false;

  constructor(options: ActiveHealthCheckerOptions, deps: ActiveHealthCheckerDeps) {
    validate(options);
    this.#options = options;
    this.#deps = deps;
  }

  /**
   * Replaces the target set; targets whose id and address are unchanged keep their schedule.
   * Ids are unique: the first target with an id wins.
   */
  setTargets(targets: readonly HealthCheckTarget[]): void {
    const next = new Map<string, Schedule>();
    for (const target of targets) {
      // A duplicated id would otherwise leave an orphan schedule that nothing can cancel.
      if (next.has(target.id)) continue;
      const current = this.#schedules.get(target.id);
      if (current !== undefined && current.target.host === target.host && current.target.port === target.port) {
        next.set(target.id, current);
        continue;
      }
      const schedule: Schedule = { target, cancelTimer: undefined, inFlight: undefined, isCancelled: false };
      next.set(target.id, schedule);
      if (this.#isStarted) this.#scheduleFirst(schedule);
    }
    for (const [id, schedule] of this.#schedules) {
      if (next.get(id) !== schedule) this.#cancel(schedule);
    }
    this.#schedules = next;
  }

  start(): void {
    if (this.#isStarted) return;
    this.#isStarted = true;
    // Fresh schedules: a probe left over from before a stop() that was not awaited still holds
    // its cancelled schedule, so its result stays dropped.
    for (const [id, schedule] of this.#schedules) {
      const fresh: Schedule = { target: schedule.target, cancelTimer: undefined, inFlight: undefined, isCancelled: false };
      this.#schedules.set(id, fresh);
      this.#scheduleFirst(fresh);
    }
  }

  /** Stops all schedules, aborts in-flight probes and resolves once they have all settled. */
  async stop(): Promise<void> {
    this.#isStarted = false;
    for (const schedule of this.#schedules.values()) this.#cancel(schedule);
    await Promise.all([...this.#running]);
  }

  #cancel(schedule: Schedule): void {
    schedule.isCancelled = true;
    schedule.cancelTimer?.();
    schedule.cancelTimer = undefined;
    schedule.inFlight?.abort();
  }

  // The first check comes within one jittered slice of the interval, so that a restart or a
  // large discovery update does not probe every backend in the same millisecond.
  #scheduleFirst(schedule: Schedule): void {
    const { intervalMs, jitterFraction } = this.#options;
    this.#scheduleIn(schedule, this.#deps.rng.next() * jitterFraction * intervalMs);
  }

  #scheduleNext(schedule: Schedule): void {
    const { intervalMs, jitterFraction } = this.#options;
    this.#scheduleIn(schedule, intervalMs * (1 + jitterFraction * (2 * this.#deps.rng.next() - 1)));
  }

  #scheduleIn(schedule: Schedule, delayMs: number): void {
    schedule.cancelTimer = this.#deps.clock.setTimer(delayMs, () => {
      schedule.cancelTimer = undefined;
      if (schedule.isCancelled) return;
      const run = this.#probe(schedule);
      this.#running.add(run);
      void run.finally(() => this.#running.delete(run));
    });
  }

  // The next check is scheduled only once this one has settled: two probes of one target never
  // overlap, however slow the target or short the interval.
  async #probe(schedule: Schedule): Promise<void> {
    const controller = new AbortController();
    schedule.inFlight = controller;
    const cancelTimeout = this.#deps.clock.setTimer(this.#options.timeoutMs, () => controller.abort());
    let success: boolean;
    try {
      success = await this.#deps.probe.check(schedule.target, controller.signal);
    } catch {
      // A probe must not throw; if a custom one does, the target is not proven healthy.
      success = false;
    } finally {
      cancelTimeout();
      schedule.inFlight = undefined;
    }
    if (schedule.isCancelled) return;
    this.#scheduleNext(schedule);
    this.#deps.onResult(schedule.target.id, success);
  }
}
