// Figures of one live run, defined as the simulator's (sim/storm/recorder.ts): requests count in
// the phase and second they arrived in; goodput = successful client requests per second; client
// attempts per request = every attempt the libraries made / client requests; p99 of successes;
// recovery = seconds from the trigger's removal to the first second whose arrivals succeed >= 99 %.
// Two more, for tight-concurrency: goodput by completion (successes that ended in the phase, as the
// simulator counts goodput: what the fleet delivered then) and the p99 of every logical request that
// arrived in the phase, failed ones included (how long a user waited for an answer, any answer).
import { phasesOf, type Timeline } from '../../sim/storm/scenarios.ts';
import { quantile } from '../../sim/storm/recorder.ts';

/** [startMs, endMs, ok 0|1, attempts], ms from the run's start. */
export type CallRecord = readonly [number, number, number, number];

export interface PhaseFigures {
  readonly phase: 'before' | 'during' | 'after';
  readonly offeredRps: number;
  readonly goodputRps: number;
  /** Successful client requests that ended in the phase, per second. */
  readonly goodputByEndRps: number;
  readonly successShare: number;
  readonly attemptsPerRequest: number;
  /** p99 of the successes that arrived in the phase. */
  readonly p99Ms: number;
  /** p99 of every logical request that arrived in the phase, success or not (first attempt to final answer). */
  readonly p99AllMs: number;
}

export interface RunFigures {
  readonly phases: readonly PhaseFigures[];
  /** Client attempts per request during the trigger, per library. */
  readonly attemptsByLibrary: Readonly<Record<string, number>>;
  readonly recoverySeconds: number | null;
}

function phaseFigures(records: readonly CallRecord[], phase: { name: PhaseFigures['phase']; startMs: number; endMs: number }): PhaseFigures {
  const inPhase = records.filter(([start]) => start >= phase.startMs && start < phase.endMs);
  const seconds = (phase.endMs - phase.startMs) / 1000;
  const successes = inPhase.filter((r) => r[2] === 1);
  const attempts = inPhase.reduce((sum, r) => sum + r[3], 0);
  const endedInPhase = records.filter(([, end, ok]) => ok === 1 && end >= phase.startMs && end < phase.endMs);
  return {
    phase: phase.name,
    offeredRps: inPhase.length / seconds,
    goodputRps: successes.length / seconds,
    goodputByEndRps: endedInPhase.length / seconds,
    successShare: inPhase.length > 0 ? successes.length / inPhase.length : 0,
    attemptsPerRequest: inPhase.length > 0 ? attempts / inPhase.length : 0,
    p99Ms: quantile(successes.map((r) => r[1] - r[0]), 0.99),
    p99AllMs: quantile(inPhase.map((r) => r[1] - r[0]), 0.99),
  };
}

export function recoverySeconds(records: readonly CallRecord[], triggerEndMs: number, endMs: number): number | null {
  const arrivals = new Map<number, number>();
  const successes = new Map<number, number>();
  for (const [start, , ok] of records) {
    const s = Math.floor(start / 1000);
    arrivals.set(s, (arrivals.get(s) ?? 0) + 1);
    if (ok === 1) successes.set(s, (successes.get(s) ?? 0) + 1);
  }
  const from = Math.floor(triggerEndMs / 1000);
  for (let s = from; s < Math.floor(endMs / 1000); s++) {
    const n = arrivals.get(s) ?? 0;
    if (n > 0 && (successes.get(s) ?? 0) >= 0.99 * n) return s - from;
  }
  return null;
}

export function analyseRun(byLibrary: ReadonlyMap<string, readonly CallRecord[]>, timeline: Timeline): RunFigures {
  const all = [...byLibrary.values()].flat();
  const phases = phasesOf(timeline);
  const during = phases[1] as (typeof phases)[number];
  const attemptsByLibrary: Record<string, number> = {};
  for (const [lib, records] of byLibrary) attemptsByLibrary[lib] = phaseFigures(records, during).attemptsPerRequest;
  const last = phases[2] as (typeof phases)[number];
  return {
    phases: phases.map((p) => phaseFigures(all, p)),
    attemptsByLibrary,
    recoverySeconds: recoverySeconds(all, during.endMs, last.endMs),
  };
}
