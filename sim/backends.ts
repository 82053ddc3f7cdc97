// The simulated upstream: a few backends with their own speed, live state (in-flight, latency and
// error EWMAs, as src/runtime/backend.ts keeps them) and a fault plan over time: brownouts (503s or
// slowness on one backend), short outages (connection refused) and traffic surges that trip the
// global rate limiter in front of them.
import type { Rng } from '../src/core/rng.ts';
import { decayFactor, ewmaUpdate, peakEwmaUpdate } from '../src/core/ewma.ts';
import { isServerFailure, type Outcome } from '../src/core/outcome.ts';
import { chance, exponential, logNormal, logUniform, uniform } from './random.ts';
import { ordinaryStatus, type RouteSpec } from './routes.ts';

/** Sibyl's per-try timeout: past it the proxy answers 504 itself. */
export const PROXY_TIMEOUT_MS = 5_000;
const EWMA_HALF_LIFE_MS = 10_000;
/** In-flight requests at which a backend's latency has doubled (queueing). */
const QUEUE_SCALE = 25;
const BASE_RESET_RATE = 0.001;
const BASE_ERROR_RATE = 0.003;

export interface SimBackend {
  readonly name: string;
  readonly speedFactor: number;
  /** Whether this backend's own 503s carry Retry-After. */
  readonly sendsRetryAfter: boolean;
  inFlight: number;
  latencyEwmaMs: number;
  errorEwma: number;
  lastSampleMs: number;
}

export interface BackendSnapshot {
  readonly latencyEwmaMs: number;
  readonly errorEwma: number;
  readonly inFlight: number;
}

export interface ServedOutcome extends Outcome {
  readonly retryAfterSec: number | undefined;
}

export type FaultKind = 'errors' | 'slow' | 'outage';

export interface Fault {
  readonly kind: FaultKind;
  readonly backend: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** 'errors': share of requests answered 503. */
  readonly errorRate: number;
  /** 'slow' (and, mildly, 'errors'): latency multiplier. */
  readonly slowFactor: number;
}

export interface Surge {
  readonly fromMs: number;
  readonly toMs: number;
  /** Multiplier on every client's request rate. */
  readonly factor: number;
}

export interface FaultPlan {
  readonly faults: readonly Fault[];
  readonly surges: readonly Surge[];
}

export function createBackends(rng: Rng, count: number): SimBackend[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `api-${i + 1}`,
    speedFactor: uniform(rng, 0.8, 1.3),
    sendsRetryAfter: i % 2 === 0,
    inFlight: 0,
    latencyEwmaMs: 0,
    errorEwma: 0,
    lastSampleMs: -Infinity,
  }));
}

/** The state a strategy reads at pick time; EWMAs fade while no sample arrives, as in the runtime. */
export function snapshotOf(b: SimBackend, nowMs: number): BackendSnapshot {
  const keep = b.lastSampleMs === -Infinity ? 1 : decayFactor(nowMs - b.lastSampleMs, EWMA_HALF_LIFE_MS);
  return { latencyEwmaMs: b.latencyEwmaMs * keep, errorEwma: b.errorEwma * keep, inFlight: b.inFlight };
}

export function recordOutcome(b: SimBackend, outcome: Outcome, nowMs: number): void {
  const elapsed = b.lastSampleMs === -Infinity ? EWMA_HALF_LIFE_MS * 10 : nowMs - b.lastSampleMs;
  b.lastSampleMs = nowMs;
  const failed = isServerFailure(outcome) ? 1 : 0;
  b.errorEwma = ewmaUpdate(b.errorEwma, failed, elapsed, EWMA_HALF_LIFE_MS);
  if (failed === 0) b.latencyEwmaMs = peakEwmaUpdate(b.latencyEwmaMs, outcome.latencyMs, elapsed, EWMA_HALF_LIFE_MS);
}

export interface FaultPlanOptions {
  readonly backendCount: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** Mean time between two brownouts (outages and surges scale with it). */
  readonly meanBrownoutGapMs: number;
}

/** Faults as Poisson processes over the run: brownouts, outages, surges. */
export function planFaults(rng: Rng, options: FaultPlanOptions): FaultPlan {
  const { backendCount, fromMs, toMs, meanBrownoutGapMs: gap } = options;
  const faults: Fault[] = [];
  const backend = (): number => Math.floor(rng.next() * backendCount);
  for (const at of poisson(rng, fromMs, toMs, gap, 60_000, 300_000)) {
    const isErrors = chance(rng, 0.6);
    faults.push({ kind: isErrors ? 'errors' : 'slow', backend: backend(), ...at, errorRate: isErrors ? uniform(rng, 0.3, 0.6) : 0, slowFactor: isErrors ? uniform(rng, 1.2, 2) : logUniform(rng, 5, 40) });
  }
  for (const at of poisson(rng, fromMs, toMs, gap * 1.2, 5_000, 30_000)) {
    faults.push({ kind: 'outage', backend: backend(), ...at, errorRate: 1, slowFactor: 1 });
  }
  const surges = poisson(rng, fromMs, toMs, gap * 3, 30_000, 120_000).map((at) => ({ ...at, factor: uniform(rng, 2, 3.5) }));
  // an outage wins over a brownout on the same backend: look it up first
  faults.sort((a, b) => (a.kind === 'outage' ? 0 : 1) - (b.kind === 'outage' ? 0 : 1) || a.fromMs - b.fromMs);
  return { faults, surges };
}

function poisson(rng: Rng, fromMs: number, toMs: number, meanGapMs: number, minLenMs: number, maxLenMs: number): { fromMs: number; toMs: number }[] {
  const out: { fromMs: number; toMs: number }[] = [];
  let t = fromMs + exponential(rng, meanGapMs);
  while (t < toMs) {
    const len = uniform(rng, minLenMs, maxLenMs);
    out.push({ fromMs: t, toMs: t + len });
    t += len + exponential(rng, meanGapMs);
  }
  return out;
}

export function faultAt(plan: FaultPlan, backend: number, nowMs: number): Fault | undefined {
  for (const f of plan.faults) if (f.backend === backend && nowMs >= f.fromMs && nowMs < f.toMs) return f;
  return undefined;
}

export function loadFactorAt(plan: FaultPlan, nowMs: number): number {
  for (const s of plan.surges) if (nowMs >= s.fromMs && nowMs < s.toMs) return s.factor;
  return 1;
}

/** Sibyl's global token bucket at admission: over capacity, requests get 429 without reaching a backend. */
export interface TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  tokens: number;
  updatedMs: number;
}

export function createTokenBucket(ratePerSec: number, burst: number, nowMs: number): TokenBucket {
  return { ratePerSec, burst, tokens: burst, updatedMs: nowMs };
}

export function takeToken(bucket: TokenBucket, nowMs: number): boolean {
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((nowMs - bucket.updatedMs) * bucket.ratePerSec) / 1000);
  bucket.updatedMs = nowMs;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Retry-After in whole seconds, 1..60, mostly short: log-uniform. */
export function drawRetryAfterSec(rng: Rng): number {
  return Math.min(60, Math.floor(logUniform(rng, 1, 61)));
}

export function limitedOutcome(rng: Rng, route: RouteSpec): ServedOutcome {
  return { status: 429, errorKind: 'none', latencyMs: uniform(rng, 0.1, 0.8), retryAfterSec: route.hasLimiterRetryAfter ? drawRetryAfterSec(rng) : undefined };
}

/** One attempt on one backend, under its current fault, seen through the client's own timeout. */
export function serveAttempt(rng: Rng, b: SimBackend, route: RouteSpec, fault: Fault | undefined, clientTimeoutMs: number): ServedOutcome {
  if (fault?.kind === 'outage') return { status: 502, errorKind: 'refused', latencyMs: uniform(rng, 0.5, 3), retryAfterSec: undefined };
  if (fault?.kind === 'errors' && chance(rng, fault.errorRate)) {
    return { status: 503, errorKind: 'none', latencyMs: logNormal(rng, 8, 0.5), retryAfterSec: b.sendsRetryAfter ? drawRetryAfterSec(rng) : undefined };
  }
  const slow = fault === undefined ? 1 : fault.slowFactor;
  const latencyMs = logNormal(rng, route.latencyMedianMs, route.latencySigma) * b.speedFactor * slow * (1 + b.inFlight / QUEUE_SCALE);
  if (latencyMs >= clientTimeoutMs && clientTimeoutMs < PROXY_TIMEOUT_MS) return { status: 0, errorKind: 'aborted', latencyMs: clientTimeoutMs, retryAfterSec: undefined };
  if (latencyMs >= PROXY_TIMEOUT_MS) return { status: 504, errorKind: 'timeout', latencyMs: PROXY_TIMEOUT_MS, retryAfterSec: undefined };
  if (chance(rng, BASE_RESET_RATE)) return { status: 502, errorKind: 'reset', latencyMs: latencyMs * rng.next(), retryAfterSec: undefined };
  if (chance(rng, BASE_ERROR_RATE)) return { status: 500, errorKind: 'none', latencyMs, retryAfterSec: undefined };
  return { status: ordinaryStatus(rng, route), errorKind: 'none', latencyMs, retryAfterSec: undefined };
}
