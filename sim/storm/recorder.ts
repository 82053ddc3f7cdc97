// Per-second tallies of one run, and their summary per phase: goodput, retry amplification,
// p99 latency of successes, waste, time to recover. Requests count in the second they arrived
// (success share, amplification) or the second they ended (goodput, latency).
import type { Phase } from './scenarios.ts';

export interface FinishedRequest {
  readonly arrivalMs: number;
  readonly endMs: number;
  readonly isSuccess: boolean;
  /** Attempts the client made. */
  readonly attempts: number;
  /** Attempts the proxy sent to backends for it (its own retries included). */
  readonly upstreamAttempts: number;
}

export interface PhaseSummary {
  readonly phase: Phase['name'];
  readonly offeredRps: number;
  readonly goodputRps: number;
  /** goodput / offered load. */
  readonly goodputShare: number;
  /** Client attempts per client request. */
  readonly clientAmplification: number;
  /** Backend attempts per client request. */
  readonly upstreamAmplification: number;
  /** p99 latency of successful client requests, first attempt to success; NaN without any. */
  readonly p99Ms: number;
  /** Share of the backends' served requests whose client had already given up. */
  readonly wasteShare: number;
}

const perSecond = (seconds: number): Float64Array => new Float64Array(seconds);

export class Recorder {
  readonly seconds: number;
  readonly arrivals: Float64Array;
  readonly successesByArrival: Float64Array;
  readonly goodput: Float64Array;
  readonly attempts: Float64Array;
  readonly upstreamAttempts: Float64Array;
  readonly served: Float64Array;
  readonly wasted: Float64Array;
  /** Requests the proxy received (one per client attempt): what a retry budget is sized from. */
  readonly proxyRequests: Float64Array;
  /** Retries the proxy made on its own. */
  readonly proxyRetries: Float64Array;
  readonly shed: Float64Array;
  readonly #latencies: { readonly endMs: number; readonly ms: number }[] = [];

  constructor(totalMs: number) {
    this.seconds = Math.ceil(totalMs / 1000) + 1;
    this.arrivals = perSecond(this.seconds);
    this.successesByArrival = perSecond(this.seconds);
    this.goodput = perSecond(this.seconds);
    this.attempts = perSecond(this.seconds);
    this.upstreamAttempts = perSecond(this.seconds);
    this.served = perSecond(this.seconds);
    this.wasted = perSecond(this.seconds);
    this.proxyRequests = perSecond(this.seconds);
    this.proxyRetries = perSecond(this.seconds);
    this.shed = perSecond(this.seconds);
  }

  static bump(series: Float64Array, ms: number): void {
    const s = Math.floor(ms / 1000);
    if (s < series.length) series[s] = (series[s] as number) + 1;
  }

  requestDone(r: FinishedRequest): void {
    const s = Math.floor(r.arrivalMs / 1000);
    this.arrivals[s] = (this.arrivals[s] as number) + 1;
    this.attempts[s] = (this.attempts[s] as number) + r.attempts;
    this.upstreamAttempts[s] = (this.upstreamAttempts[s] as number) + r.upstreamAttempts;
    if (!r.isSuccess) return;
    this.successesByArrival[s] = (this.successesByArrival[s] as number) + 1;
    Recorder.bump(this.goodput, r.endMs);
    this.#latencies.push({ endMs: r.endMs, ms: r.endMs - r.arrivalMs });
  }

  servedOne(nowMs: number, isWasted: boolean): void {
    Recorder.bump(this.served, nowMs);
    if (isWasted) Recorder.bump(this.wasted, nowMs);
  }

  /** Goodput of each second as a share of the load offered in it. */
  goodputShareSeries(): number[] {
    return Array.from(this.goodput, (g, s) => ((this.arrivals[s] as number) > 0 ? g / (this.arrivals[s] as number) : 0));
  }

  summarize(phase: Phase): PhaseSummary {
    const from = Math.floor(phase.startMs / 1000);
    const to = Math.floor(phase.endMs / 1000);
    const sum = (series: Float64Array): number => series.slice(from, to).reduce((a, b) => a + b, 0);
    const seconds = to - from;
    const arrivals = sum(this.arrivals);
    const goodput = sum(this.goodput);
    const served = sum(this.served);
    const latencies = this.#latencies.filter((l) => l.endMs >= phase.startMs && l.endMs < phase.endMs).map((l) => l.ms);
    return {
      phase: phase.name,
      offeredRps: arrivals / seconds,
      goodputRps: goodput / seconds,
      goodputShare: arrivals > 0 ? goodput / arrivals : 0,
      clientAmplification: arrivals > 0 ? sum(this.attempts) / arrivals : 0,
      upstreamAmplification: arrivals > 0 ? sum(this.upstreamAttempts) / arrivals : 0,
      p99Ms: quantile(latencies, 0.99),
      wasteShare: served > 0 ? sum(this.wasted) / served : 0,
    };
  }

  /**
   * Seconds from the trigger's removal to the first second whose arrivals succeed at >= 99 %;
   * null when that never happens before the end.
   */
  recoverySeconds(triggerEndMs: number, endMs: number): number | null {
    const from = Math.floor(triggerEndMs / 1000);
    for (let s = from; s < Math.floor(endMs / 1000); s++) {
      const arrivals = this.arrivals[s] as number;
      if (arrivals > 0 && (this.successesByArrival[s] as number) >= 0.99 * arrivals) return s - from;
    }
    return null;
  }
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
