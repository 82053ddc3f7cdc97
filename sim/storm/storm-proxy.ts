// The balancer in front of the simulated fleet, assembled from Sibyl's real modules as a policy
// configures them: strategy (createBalancer), eligibility and panic (selectEligible), outlier
// ejection, EWMAs (core/ewma), its own retries (decideRetry + RetryBudget + backoff), and for
// Sibyl the per-backend concurrency limiter with a bounded, deadline-bound queue in the proxy.
import type { Candidate } from '../../src/balancer/balancer.ts';
import { createBalancer } from '../../src/balancer/create-balancer.ts';
import { ewmaUpdate, peakEwmaUpdate } from '../../src/core/ewma.ts';
import { isServerFailure, type ErrorKind, type Outcome } from '../../src/core/outcome.ts';
import type { Rng } from '../../src/core/rng.ts';
import type { EligibilityInput } from '../../src/health/eligibility.ts';
import { selectEligible } from '../../src/health/eligibility.ts';
import { createOutlierDetector } from '../../src/health/outlier-detector.ts';
import { loadSheddingSchema } from '../../src/config/schema-protect.ts';
import { createConcurrencyLimiter, DEFAULT_LIMITER_OPTIONS, type ConcurrencyLimiter } from '../../src/protect/concurrency-limiter.ts';
import { PatienceEstimator, serviceLatencyMs } from '../../src/protect/patience.ts';
import { RetryBudget } from '../../src/retry/retry-budget.ts';
import { decideRetry } from '../../src/retry/retry-policy.ts';
import type { Agenda } from './agenda.ts';
import type { BackendServer } from './backend-server.ts';
import type { AttemptResult } from './client-policies.ts';
import type { PolicySpec } from './policies.ts';
import { Recorder } from './recorder.ts';

/** Sibyl's [strategy] ewma_half_life default. */
const EWMA_HALF_LIFE_MS = 10_000;
/** Sibyl's [load_shedding] defaults: max_queue, max_queue_wait. */
const SHEDDING = loadSheddingSchema.parse({});

/** One client attempt, as the proxy sees it. */
export interface Downstream {
  readonly request: { lastBackendId: string | undefined; upstreamAttempts: number; readonly process: { readonly id: string } };
  readonly isAbandoned: boolean;
  respond(result: AttemptResult): void;
}

interface Upstream extends Candidate, EligibilityInput {
  readonly id: string;
  readonly effectiveWeight: number;
  inFlight: number;
  latencyEwmaMs: number;
  errorEwma: number;
  readonly isHealthy: boolean;
  isEjected: boolean;
  readonly isDraining: boolean;
  lastSampleMs: number;
  lastLatencySampleMs: number;
  readonly server: BackendServer;
  readonly limiter: ConcurrencyLimiter | undefined;
}

interface Ticket {
  readonly upstream: Upstream;
  /** The backend's attempts in flight when this one started, itself included. */
  readonly loadAtStart: number;
  readonly sentMs: number;
  isCancelled: boolean;
}

interface Exchange {
  readonly downstream: Downstream;
  readonly arrivedMs: number;
  state: 'routing' | 'queued' | 'upstream' | 'backoff' | 'done';
  retries: number;
  /** Backend of this exchange's last attempt: a retry of the proxy's own goes elsewhere. */
  lastBackendId: string | undefined;
  ticket: Ticket | undefined;
}

export interface StormProxyDeps {
  readonly agenda: Agenda;
  readonly rng: Rng;
  readonly servers: readonly BackendServer[];
  /** The backends' true concurrency: only HAProxy's operator is told it. */
  readonly trueConcurrency: number;
  readonly recorder: Recorder;
}

/** The proxy's defence state at one moment (for explaining a run; reading it changes nothing). */
export interface ProxyState {
  /** Sibyl: each backend's learned concurrency limit; others: their fixed maxconn or Infinity. */
  readonly limits: readonly number[];
  readonly queued: number;
  /** How long a request may wait in the proxy's queue now. */
  readonly deadlineMs: number;
}

export interface StormProxy {
  /** Takes one client attempt; returns what to call when the client gives up on it. */
  handle(downstream: Downstream): () => void;
  inspect(): ProxyState;
}

export function createStormProxy(spec: PolicySpec, deps: StormProxyDeps): StormProxy {
  const { agenda, rng, recorder } = deps;
  const balancer = createBalancer(spec.algorithm, { rng }, { errorPenalty: spec.errorPenalty });
  const outlier = spec.outlier === undefined ? undefined : createOutlierDetector(spec.outlier);
  const budget = spec.retry === undefined ? undefined : new RetryBudget(spec.retry.budget);
  const patience = new PatienceEstimator(SHEDDING.maxQueueWait);
  const upstreams: Upstream[] = deps.servers.map((server) => ({
    id: server.id,
    effectiveWeight: 1,
    inFlight: 0,
    latencyEwmaMs: 0,
    errorEwma: 0,
    isHealthy: true,
    isEjected: false,
    isDraining: false,
    lastSampleMs: -Infinity,
    lastLatencySampleMs: -Infinity,
    server,
    limiter: spec.isAdaptiveLimit ? createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS) : undefined,
  }));
  outlier?.setMembers(upstreams.map((u) => u.id));
  const hasQueue = spec.isAdaptiveLimit || spec.isMaxConnTrueConcurrency;
  const queue: Exchange[] = [];
  let queueHead = 0;
  let queued = 0;

  const now = (): number => agenda.nowMs;

  function eligibleNow(): Upstream[] {
    const t = now();
    if (outlier !== undefined) {
      outlier.sweep(t);
      for (const u of upstreams) u.isEjected = outlier.isEjected(u.id, t);
    }
    return selectEligible(upstreams, spec.panicThresholdPercent).eligible;
  }

  function hasSlot(u: Upstream): boolean {
    if (spec.isMaxConnTrueConcurrency) return u.inFlight < deps.trueConcurrency;
    return u.limiter === undefined || u.limiter.inFlight < u.limiter.limit;
  }

  /** An upstream with a free slot, avoiding the backend of the failed attempt when another exists. */
  function choose(ex: Exchange, eligible: Upstream[]): Upstream | undefined {
    let candidates = eligible.filter(hasSlot);
    const avoid = ex.lastBackendId ?? (spec.isRetryAware ? ex.downstream.request.lastBackendId : undefined);
    if (avoid !== undefined && candidates.length > 1) {
      const others = candidates.filter((u) => u.id !== avoid);
      if (others.length > 0) candidates = others;
    }
    if (candidates.length === 0) return undefined;
    return balancer.pick({ hashKey: '' }, candidates) as Upstream | undefined;
  }

  function respond(ex: Exchange, result: AttemptResult): void {
    if (ex.state === 'done') return;
    ex.state = 'done';
    ex.downstream.respond(result);
  }

  function shed(ex: Exchange): void {
    Recorder.bump(recorder.shed, now());
    // jittered, so that the clients that honour it do not come back in lockstep
    const retryAfterSec = spec.hasRetryAfter ? 1 + Math.floor(rng.next() * 3) : undefined;
    respond(ex, { kind: 'response', status: 503, retryAfterSec });
  }

  function dispatch(ex: Exchange): void {
    ex.state = 'routing';
    const eligible = eligibleNow();
    if (eligible.length === 0) {
      // NGINX's "no live upstreams"
      respond(ex, { kind: 'response', status: 502, retryAfterSec: undefined });
      return;
    }
    const u = choose(ex, eligible);
    if (u !== undefined) return send(ex, u);
    if (!hasQueue || queued >= queueCapacity()) return shed(ex);
    ex.state = 'queued';
    queue.push(ex);
    queued++;
    agenda.at(now() + queueDeadlineMs(), () => {
      if (ex.state !== 'queued') return;
      queued--;
      shed(ex);
    });
  }

  function queueDeadlineMs(): number {
    return spec.isAdaptiveLimit ? patience.deadlineMs(SHEDDING.maxQueueWait, fastestLatencyMs(), now()) : (spec.queueTimeoutMs ?? Infinity);
  }

  /** As runtime/pool.ts fastestLatencyMs: the fastest eligible backend's service latency. */
  function fastestLatencyMs(): number {
    const eligible = eligibleNow();
    return eligible.length === 0 ? 0 : Math.min(...eligible.map(serviceLatencyMs));
  }

  /** Sibyl: [load_shedding] max_queue; HAProxy: unbounded (its default). */
  function queueCapacity(): number {
    return spec.isAdaptiveLimit ? SHEDDING.maxQueue : Infinity;
  }

  function drainQueue(): void {
    while (queued > 0) {
      let ex = queue[queueHead];
      while (ex !== undefined && ex.state !== 'queued') ex = queue[++queueHead];
      if (ex === undefined) return;
      const u = choose(ex, eligibleNow());
      if (u === undefined) return;
      queueHead++;
      queued--;
      send(ex, u);
    }
    if (queueHead > 1024) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  }

  function send(ex: Exchange, u: Upstream): void {
    u.inFlight++;
    u.limiter?.tryAcquire();
    const ticket: Ticket = { upstream: u, loadAtStart: u.inFlight, sentMs: now(), isCancelled: false };
    ex.state = 'upstream';
    ex.ticket = ticket;
    ex.lastBackendId = u.id;
    ex.downstream.request.lastBackendId = u.id;
    ex.downstream.request.upstreamAttempts++;
    u.server.accept({ isAbandoned: () => ex.downstream.isAbandoned, onDone: (status, errorKind) => onUpstreamDone(ex, ticket, status, errorKind) });
  }

  function recordOutcome(u: Upstream, outcome: Outcome): void {
    // as src/runtime/backend.ts keeps them
    const t = now();
    const elapsedSince = (ms: number): number => (ms === -Infinity ? EWMA_HALF_LIFE_MS * 10 : t - ms);
    const failed = isServerFailure(outcome) ? 1 : 0;
    u.errorEwma = ewmaUpdate(u.errorEwma, failed, elapsedSince(u.lastSampleMs), EWMA_HALF_LIFE_MS);
    u.lastSampleMs = t;
    if (failed === 0) {
      u.latencyEwmaMs = peakEwmaUpdate(u.latencyEwmaMs, outcome.latencyMs, elapsedSince(u.lastLatencySampleMs), EWMA_HALF_LIFE_MS);
      u.lastLatencySampleMs = t;
    }
    outlier?.record(u.id, outcome, t);
  }

  function onUpstreamDone(ex: Exchange, ticket: Ticket, status: number, errorKind: ErrorKind): void {
    // cancelled: the client left, its slot was given back then; the backend did the work anyway
    if (ticket.isCancelled) return;
    const u = ticket.upstream;
    const outcome: Outcome = { status, errorKind, latencyMs: now() - ticket.sentMs };
    u.inFlight--;
    u.limiter?.release(outcome.latencyMs, status === 503 || status === 504 || errorKind !== 'none', now(), ticket.loadAtStart);
    ex.ticket = undefined;
    recordOutcome(u, outcome);
    if (spec.retry !== undefined && budget !== undefined && isServerFailure(outcome)) {
      const facts = { method: 'GET', hasIdempotencyKey: false, isBodyReplayable: true, isResponseStarted: false, status, errorKind, retriesSoFar: ex.retries, hasOtherBackend: eligibleNow().length > 1 };
      const decision = decideRetry(facts, spec.retry.policy, budget, now(), rng);
      if (decision.shouldRetry) {
        ex.retries++;
        ex.state = 'backoff';
        Recorder.bump(recorder.proxyRetries, now());
        agenda.at(now() + decision.delayMs, () => {
          if (ex.state === 'backoff') dispatch(ex);
        });
        return drainQueue();
      }
    }
    respond(ex, errorKind !== 'none' ? { kind: 'network' } : { kind: 'response', status, retryAfterSec: undefined });
    drainQueue();
  }

  function abandon(ex: Exchange): void {
    const ticket = ex.ticket;
    patience.observe({ waitedMs: now() - ex.arrivedMs, client: ex.downstream.request.process.id, nowMs: now(), backendLatencyMs: ticket === undefined ? fastestLatencyMs() : serviceLatencyMs(ticket.upstream) });
    if (ex.state === 'queued') queued--;
    if (ex.state === 'upstream' && ticket !== undefined) {
      // the proxy closes the upstream request; the backend, unaware, serves it anyway
      ticket.isCancelled = true;
      ticket.upstream.inFlight--;
      ticket.upstream.limiter?.abandon(now() - ticket.sentMs, now());
      recordOutcome(ticket.upstream, { status: 0, errorKind: 'aborted', latencyMs: now() - ticket.sentMs });
    }
    ex.state = 'done';
    drainQueue();
  }

  return {
    inspect() {
      // no eligibleNow() here: its outlier sweep would change the run
      const fastest = Math.min(...upstreams.filter((u) => !u.isEjected).map(serviceLatencyMs));
      return {
        limits: upstreams.map((u) => (spec.isMaxConnTrueConcurrency ? deps.trueConcurrency : (u.limiter?.limit ?? Infinity))),
        queued,
        deadlineMs: spec.isAdaptiveLimit ? patience.deadlineMs(SHEDDING.maxQueueWait, Number.isFinite(fastest) ? fastest : 0, now()) : (spec.queueTimeoutMs ?? Infinity),
      };
    },
    handle(downstream) {
      const ex: Exchange = { downstream, arrivedMs: now(), state: 'routing', retries: 0, lastBackendId: undefined, ticket: undefined };
      Recorder.bump(recorder.proxyRequests, now());
      budget?.deposit(now());
      dispatch(ex);
      return () => abandon(ex);
    },
  };
}
