// Labels for simulated traffic, computed by the very labeller Sibyl runs (src/telemetry/
// retry-labeller.ts): the arrivals are replayed in time order (arrive at the start, finish at the
// end, sweep as time passes), so simulated and live telemetry mean the same thing by "retry",
// "repeat", "attempt" and "retried" (DESIGN.md "Retry intelligence").
// Arrivals with the same start time keep their input order: the earlier one arrived first.
import type { ErrorKind } from '../src/core/outcome.ts';
import { RetryLabeller, type PendingEvent, type Ticket } from '../src/telemetry/retry-labeller.ts';

export interface Arrival {
  readonly clientKey: string;
  readonly fingerprint: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** What the client got: a failure as it saw it (5xx, 429, 408, transport error) may be retried. */
  readonly status: number;
  readonly errorKind: ErrorKind;
}

export interface ArrivalLabel {
  readonly attempt: number;
  readonly isRepeat: boolean;
  readonly retried: 0 | 1;
  /** When the live labeller knew the label: at the end of a success, when the retry came, or when the window closed. */
  readonly labelKnownAtMs: number;
}

const SWEEP_EVERY_MS = 1000;

export function labelArrivals(arrivals: readonly Arrival[], windowMs: number): ArrivalLabel[] {
  // at one instant: ends first (a re-send arriving then sees the response), then starts, then the
  // ends of attempts that took no time at all (after their own start)
  const steps: { atMs: number; order: number; isEnd: boolean; i: number }[] = [];
  arrivals.forEach((a, i) => {
    const endMs = Math.max(a.endedAtMs, a.startedAtMs);
    steps.push({ atMs: a.startedAtMs, order: 1, isEnd: false, i }, { atMs: endMs, order: endMs === a.startedAtMs ? 2 : 0, isEnd: true, i });
  });
  steps.sort((x, y) => x.atMs - y.atMs || x.order - y.order || x.i - y.i);
  const labels = new Array<ArrivalLabel>(arrivals.length);
  const tickets = new Array<Ticket>(arrivals.length);
  const indexOf = new Map<PendingEvent, number>();
  let nowMs = 0;
  const labeller = new RetryLabeller(
    { windowMs, maxTracked: Number.MAX_SAFE_INTEGER },
    {
      onLabelled: (e) => {
        const i = indexOf.get(e as PendingEvent) as number;
        const t = tickets[i] as Ticket;
        labels[i] = { attempt: t.attempt, isRepeat: t.isRepeat, retried: e.retried ?? 0, labelKnownAtMs: Math.max(nowMs, (arrivals[i] as Arrival).endedAtMs) };
      },
      onEvict: () => {},
      onRetry: () => {},
      onRepeat: () => {},
    },
  );
  let nextSweepMs = -Infinity;
  for (const step of steps) {
    nowMs = step.atMs;
    if (nowMs >= nextSweepMs) {
      labeller.sweep(nowMs);
      nextSweepMs = nowMs + SWEEP_EVERY_MS;
    }
    const a = arrivals[step.i] as Arrival;
    if (!step.isEnd) {
      tickets[step.i] = labeller.arrive(a.clientKey, a.fingerprint, nowMs);
      continue;
    }
    const event = { status: a.status, errorKind: a.errorKind, backend: 'none', attempt: 0, repeat: false, retried: null } as unknown as PendingEvent;
    indexOf.set(event, step.i);
    labeller.finish(tickets[step.i] as Ticket, event, nowMs);
  }
  nowMs = Number.MAX_SAFE_INTEGER;
  labeller.sweep(nowMs);
  return labels.map((l, i) => (l.labelKnownAtMs === Number.MAX_SAFE_INTEGER ? { ...l, labelKnownAtMs: (arrivals[i] as Arrival).endedAtMs + windowMs } : l));
}
