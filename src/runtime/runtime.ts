// The runtime owns the generation in service and everything that outlives a generation:
// backend state, health checking, outlier detection. It is the only place that changes them;
// the admin API calls its commands, the proxy reads `current` once per request.
import type { Outcome } from '../core/outcome.ts';
import type { Config } from '../config/schema.ts';
import { restartNeeded } from '../config/diff.ts';
import type { RuntimeDeps } from './deps.ts';
import type { Backend } from './backend.ts';
import { buildBackendSet } from './backend-set.ts';
import { Generation } from './generation.ts';
import { DiscoverySupervisor, type DiscoveryStatus } from './discovery-supervisor.ts';
import { PoolHealth } from './pool-health.ts';
import { ProgressiveDelivery } from './progressive-delivery.ts';
import { buildPools, poolSpecsOf } from './build-pools.ts';
import type { Pool } from './pool.ts';
import type { RetryIntelligence } from './retry-intelligence.ts';
import { proxySettingsFrom } from './settings.ts';
import { RateLimits } from './rate-limits.ts';
import { RetryBudget } from '../retry/retry-budget.ts';
import { AdmissionQueue } from '../protect/admission-queue.ts';
import { createConcurrencyLimiter, DEFAULT_LIMITER_OPTIONS } from '../protect/concurrency-limiter.ts';
import { PatienceEstimator } from '../protect/patience.ts';
import { MetastabilityDetector, type StormReport } from '../protect/metastability-detector.ts';
import { EventLoopLag } from './event-loop-lag.ts';
import { refused, type Refused } from './command-result.ts';

export type { RuntimeDeps };

export interface ReloadResult {
  readonly ok: boolean;
  readonly atIso: string;
  readonly generation: number;
  readonly problems: readonly string[];
  /** Changed keys that take effect only after a restart (snake_case paths), against the config the process started with. */
  readonly needsRestart: readonly string[];
  /** The file was the one already in service: nothing was applied. */
  readonly isUnchanged?: boolean;
}

const MAX_RETRY_AFTER_SECONDS = 60;
const STORM_TICK_MS = 1000;

/** Deposits older than this no longer fund retries (Finagle's default TTL). */
const BUDGET_TTL_MS = 10_000;

export type CommandResult = { ok: true; backend: ReturnType<Backend['toJSON']> } | Refused;

export class Runtime {
  readonly #deps: RuntimeDeps;
  readonly #health: PoolHealth;
  readonly #discovery: DiscoverySupervisor;
  readonly #startedAtMs: number;
  #config: Config;
  /** The config the process started with: what keys that need a restart still run on. */
  readonly #startConfig: Config;
  #generation: Generation;
  #live = new Map<string, Backend>();
  #lastReload: ReloadResult;
  #cancelGauges: (() => void) | undefined;

  /** Telemetry, labelling and the retry model; undefined when [telemetry] enabled = false. */
  readonly retry: RetryIntelligence | undefined;
  /** Sibyl's own retry budget; outlives generations (a reload must not refill it). */
  #retryBudget: RetryBudget;
  /** Plain counts the data path bumps; the gauges below are ratios of their deltas. */
  /**
   * Request counters of the data path. rateLimited and rateLimitedRetries count the requests (and
   * the retries among them) Sibyl's own rate limits refused: a policy at work, not lost goodput,
   * so the storm detector leaves them out.
   */
  readonly tally = { clientRequests: 0, clientRetries: 0, clientRepeats: 0, backendAttempts: 0, clientSuccesses: 0, rateLimited: 0, rateLimitedRetries: 0 };
  readonly #storm = new MetastabilityDetector();
  #stormTally = { ...this.tally };
  #cancelStorm: (() => void) | undefined;
  /** Pools' traffic: routes, splits, rollouts, blue-green, experiments. */
  readonly delivery: ProgressiveDelivery;
  /** Load shedding: requests waiting for a backend slot, and the clients' learned patience. */
  readonly admission: AdmissionQueue;
  readonly patience = new PatienceEstimator(1000);
  /** This process's own event-loop lag, which the concurrency limiters discount. */
  readonly loopLag: EventLoopLag;
  /** [[rate_limits]]: outlive generations, so that a reload keeps the buckets of unchanged limits. */
  readonly rateLimits: RateLimits;
  #lastTally = { ...this.tally };
  #budgetSignature: string;

  constructor(config: Config, deps: RuntimeDeps, retry?: RetryIntelligence) {
    this.#deps = deps;
    this.retry = retry;
    retry?.countInto(this.tally);
    this.delivery = new ProgressiveDelivery(config, deps, () => this.#generation);
    this.admission = new AdmissionQueue(config.loadShedding.maxQueue, deps.clock);
    this.loopLag = new EventLoopLag(deps.clock);
    this.rateLimits = new RateLimits(config, deps);
    this.#budgetSignature = `${config.retry.budgetRatio}/${config.retry.budgetMinPerSecond}`;
    this.#retryBudget = new RetryBudget({ ratio: config.retry.budgetRatio, minRetriesPerSecond: config.retry.budgetMinPerSecond, ttlMs: BUDGET_TTL_MS });
    this.#startedAtMs = deps.clock.now();
    this.#config = config;
    this.#startConfig = config;
    this.#health = new PoolHealth(deps, () => this.#generation?.invalidate()); // undefined while the first generation is built
    this.#discovery = new DiscoverySupervisor(deps, () => this.#applyDiscovered());
    this.#discovery.configure(config.discovery);
    this.#generation = this.#build(config, 1);
    this.delivery.configure(config);
    this.#lastReload = { ok: true, atIso: new Date().toISOString(), generation: 1, problems: [], needsRestart: [] };
    deps.metrics.configGeneration.set(1);
  }

  get retryBudget(): RetryBudget {
    return this.#retryBudget;
  }

  /** Retries the budget would allow now, on the runtime's clock (the gauge lags by up to [metrics] interval). */
  retryBudgetAvailable(): number {
    return this.#retryBudget.available(this.#deps.clock.now());
  }

  get current(): Generation {
    return this.#generation;
  }

  get config(): Config {
    return this.#config;
  }

  get lastReload(): ReloadResult {
    return this.#lastReload;
  }

  get uptimeMs(): number {
    return this.#deps.clock.now() - this.#startedAtMs;
  }

  /** Service discovery's view (GET /api/discovery). */
  get discovery(): DiscoveryStatus {
    return this.#discovery.status;
  }

  /** One discovery refresh now: at startup, so that the listener opens with the discovered backends. */
  refreshDiscovery(): Promise<void> {
    return this.#discovery.refresh();
  }

  start(): void {
    this.#discovery.start();
    this.#health.start();
    this.retry?.start();
    this.loopLag.start();
    this.delivery.start();
    const stormTick = (): void => {
      this.#observeStorm();
      this.#cancelStorm = this.#deps.clock.setTimer(STORM_TICK_MS, stormTick);
    };
    this.#cancelStorm = this.#deps.clock.setTimer(STORM_TICK_MS, stormTick);
    const tick = (): void => {
      this.publishGauges();
      this.#cancelGauges = this.#deps.clock.setTimer(this.#config.metrics.interval, tick);
    };
    tick();
  }

  /** Copies live backend state into the derived gauges (on the [metrics] interval and before a scrape). */
  publishGauges(): void {
    const m = this.#deps.metrics;
    for (const b of this.#generation.backends) {
      const labels = { backend: b.id };
      m.inFlight.set(labels, b.inFlight);
      m.backendLatencyEwma.set(labels, b.latencyEwmaMs / 1000);
      m.backendErrorEwma.set(labels, b.errorEwma);
    }
    this.retry?.publishGauges();
    this.delivery.publish();
    this.rateLimits.sweep(this.#deps.clock.now());
    this.rateLimits.publishGauges();
    const t = this.tally;
    const requests = t.clientRequests - this.#lastTally.clientRequests;
    if (requests > 0) {
      m.amplification.set((t.backendAttempts - this.#lastTally.backendAttempts) / requests);
      m.clientRetryShare.set((t.clientRetries - this.#lastTally.clientRetries) / requests);
    }
    this.#lastTally = { ...t };
    m.retryBudgetAvailable.set(this.#retryBudget.available(this.#deps.clock.now()));
    m.queueLength.set(this.admission.length);
    m.queueDeadline.set(this.queueDeadlineMs() / 1000);
    for (const b of this.#generation.backends) {
      if (b.limiter === undefined) continue;
      m.concurrencyLimit.set({ backend: b.id }, b.limiter.limit);
      if (Number.isFinite(b.limiter.baselineMs)) m.noLoadLatency.set({ backend: b.id }, b.limiter.baselineMs / 1000);
    }
    m.eventLoopLag.set(this.loopLag.recentMs / 1000);
  }

  /** A worker applies an active health check the probing worker ran (serve --workers N). */
  applyHealthProbe(backendKey: string, isSuccess: boolean): void {
    this.#health.applyProbe(backendKey, isSuccess);
  }

  recentHealthEvents() {
    return this.#health.recentEvents();
  }

  /** Builds the new generation aside and swaps it in. Old in-flight requests finish on the old one. */
  apply(config: Config): ReloadResult {
    const previous = this.#generation;
    this.#discovery.configure(config.discovery);
    const next = this.#build(config, previous.id + 1);
    this.#config = config;
    this.#generation = next;
    this.retry?.reconfigure(config);
    this.delivery.configure(config);
    this.rateLimits.reconfigure(config);
    const signature = `${config.retry.budgetRatio}/${config.retry.budgetMinPerSecond}`;
    if (signature !== this.#budgetSignature) {
      this.#budgetSignature = signature;
      this.#retryBudget = new RetryBudget({ ratio: config.retry.budgetRatio, minRetriesPerSecond: config.retry.budgetMinPerSecond, ttlMs: BUDGET_TTL_MS });
    }
    this.#deps.metrics.configReloads.inc();
    this.#deps.metrics.configGeneration.set(next.id);
    const needsRestart = restartNeeded(this.#startConfig, config);
    this.#lastReload = { ok: true, atIso: new Date().toISOString(), generation: next.id, problems: [], needsRestart };
    this.#deps.logger.info({ generation: next.id, backends: next.backends.map((b) => b.id) }, 'config applied');
    if (needsRestart.length > 0) this.#deps.logger.warn({ generation: next.id, needsRestart }, `config applied, but these changed keys need a restart to take effect: ${needsRestart.join(', ')}`);
    return this.#lastReload;
  }

  /** Records a rejected reload: nothing else changes. */
  rejectReload(problems: readonly string[]): ReloadResult {
    this.#deps.metrics.configReloadFailures.inc();
    this.#lastReload = { ok: false, atIso: new Date().toISOString(), generation: this.#generation.id, problems, needsRestart: this.#lastReload.needsRestart };
    this.#deps.logger.error({ problems }, 'config reload rejected; the previous config stays in service');
    return this.#lastReload;
  }

  /** The record phase: feeds EWMAs and the outlier detector. Synchronous and cheap. */
  recordOutcome(backend: Backend, outcome: Outcome): void {
    const now = this.#deps.clock.now();
    backend.recordOutcome(outcome, now);
    this.#health.recordOutcome(backend, outcome, now);
    this.delivery.recordOutcome(backend.poolName, outcome);
  }

  /** The model's prediction for an answer `backend` gave a client: feeds adaptive and outlier ejection. */
  recordPrediction(backend: Backend, outcome: Outcome, prediction: number): void {
    backend.recordPrediction(prediction, outcome, this.#deps.clock.now());
  }

  drain(name: string): CommandResult {
    return this.#command(name, (b) => {
      b.isDraining = true;
      this.#health.note(b.id, 'drained');
    });
  }

  undrain(name: string): CommandResult {
    return this.#command(name, (b) => {
      b.isDraining = false;
      this.#health.note(b.id, 'undrained');
    });
  }

  setWeight(name: string, weight: number): CommandResult {
    if (!Number.isInteger(weight) || weight < 0 || weight > 10000) {
      return refused('invalid-weight', 'weight must be an integer from 0 to 10000');
    }
    return this.#command(name, (b) => {
      b.weight = weight;
      this.#health.note(b.id, 'weight', String(weight));
      this.#health.refreshWeights();
    });
  }

  /** The metastability detector's latest view (GET /api/storm). */
  get storm(): StormReport {
    return this.#storm.report;
  }

  #observeStorm(): void {
    const t = this.tally;
    const last = this.#stormTally;
    // a request refused by a rate limit is neither goodput lost nor load the backends carried
    const requests = t.clientRequests - last.clientRequests - (t.rateLimited - last.rateLimited);
    const retries = t.clientRetries - last.clientRetries - (t.rateLimitedRetries - last.rateLimitedRetries);
    const before = this.#storm.report.state;
    const report = this.#storm.observe(
      {
        firstAttempts: requests - retries,
        retries,
        successes: t.clientSuccesses - last.clientSuccesses,
        isCapacityNominal: this.#generation.backends.every((b) => b.isHealthy && !b.isEjected),
      },
      this.#deps.clock.now(),
    );
    this.#stormTally = { ...t };
    for (const state of ['healthy', 'degraded', 'metastable'] as const) this.#deps.metrics.stormState.set({ state }, report.state === state ? 1 : 0);
    if (report.state !== before) {
      const log = report.state === 'metastable' ? this.#deps.logger.error.bind(this.#deps.logger) : this.#deps.logger.warn.bind(this.#deps.logger);
      log({ state: report.state, successRatio: report.successRatio, retryShare: report.retryShare }, report.state === 'metastable' ? 'metastable failure: the trigger is gone but retries keep goodput low' : `traffic state: ${report.state}`);
    }
  }

  /**
   * How long a request for `pool` may wait for a backend slot: three quarters of the clients'
   * impatient tail, at least a few of the pool's fastest backend latencies, at most max_queue_wait.
   */
  queueDeadlineMs(pool: Pool = this.#generation.defaultPool): number {
    return this.patience.deadlineMs(this.#config.loadShedding.maxQueueWait, pool.fastestLatencyMs, this.#deps.clock.now());
  }

  /**
   * Pacing: the Retry-After for a 503 Sibyl answers itself. With no backend to send to, the pool's
   * recovery is estimated from the earliest end of an ejection or, when backends are only
   * unhealthy, the time health checks need to readmit one. A shed request (every backend at its
   * concurrency limit) meets an overload that clears on the time scale of the queue, so its
   * recovery is the queue deadline, at least a second: the live experiment showed that a 20 s
   * Retry-After on a 5 s load spike made got give up (it only waits up to its own timeout) and
   * undici's RetryAgent wait 30 s. Clients predicted to retry are spread uniformly over
   * [recovery / 2, recovery x (1 + P(retry))], so that those honouring it do not come back together.
   */
  retryAfterSeconds(reason: 'no_backend' | 'shed'): number {
    const now = this.#deps.clock.now();
    const ends = this.#health.outlierSnapshot().filter((e) => e.isEjected && e.ejectedUntil !== undefined).map((e) => (e.ejectedUntil as number) - now);
    const h = this.#config.health;
    const readmitMs = h.enabled ? h.interval * h.healthyThreshold : 1000;
    const unavailableMs = ends.length > 0 ? Math.min(...ends) : readmitMs;
    const recoveryMs = Math.max(1000, reason === 'shed' ? this.queueDeadlineMs() : unavailableMs);
    const p = this.retry?.predict({ status: 503, attempt: 1 }) ?? 0.5;
    const low = recoveryMs / 2;
    const high = recoveryMs * (1 + p);
    const seconds = Math.round((low + this.#deps.rng.next() * (high - low)) / 1000);
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds));
  }

  outlierSnapshot() {
    return this.#health.outlierSnapshot();
  }

  /**
   * A client gave up after waitedMs (from when this process saw its request): a sample of client
   * patience. The client began waiting earlier, by about this process's event-loop lag; without
   * it, a CPU-starved proxy would learn a patience far shorter than the clients' and shed early.
   */
  observeClientGaveUp(waitedMs: number, client: string, backendLatencyMs: number): void {
    const verdict = this.patience.observe({ waitedMs: waitedMs + this.loopLag.recentMs, client, nowMs: this.#deps.clock.now(), backendLatencyMs });
    this.#deps.metrics.clientGiveUps.inc({ taken_as: verdict });
  }

  /** Stops health checking and closes upstream pools once their in-flight requests are done. */
  async stop(): Promise<void> {
    this.#cancelGauges?.();
    this.#cancelStorm?.();
    this.loopLag.stop();
    await this.#discovery.stop();
    await this.#health.stop();
    await this.retry?.stop();
    await this.delivery.stop();
    await Promise.allSettled([...this.#live.values()].map((b) => b.pool.close()));
  }

  /** Discovery changed the backend set: a new generation with the same config (not a config reload). */
  #applyDiscovered(): void {
    this.#generation = this.#build(this.#config, this.#generation.id + 1);
    this.#deps.metrics.configGeneration.set(this.#generation.id);
    this.#deps.logger.info({ generation: this.#generation.id, backends: this.#generation.backends.map((b) => b.id) }, 'discovered backends applied');
  }

  #command(name: string, change: (b: Backend) => void): CommandResult {
    const backend = this.#generation.findBackend(name);
    if (backend === undefined) return refused('unknown-backend', `no backend named ${JSON.stringify(name)}`);
    change(backend);
    this.#deps.metrics.backendDraining.set({ backend: backend.id }, backend.isDraining ? 1 : 0);
    this.#generation.invalidate();
    this.#deps.logger.info({ backend: backend.id, isDraining: backend.isDraining, weight: backend.weight }, 'backend changed by operator');
    return { ok: true, backend: backend.toJSON() };
  }

  #build(config: Config, id: number): Generation {
    // the default pool's backends are what discovery found (the config's [[backends]] when static)
    const effective: Config = { ...config, backends: [...this.#discovery.backendsFor(config)] };
    const all = poolSpecsOf(effective).flatMap((p) => p.backends);
    const change = buildBackendSet(config, all, this.#live, () => this.#deps.clock.now());
    const ls = config.loadShedding;
    const limiterOptions = { ...DEFAULT_LIMITER_OPTIONS, initialLimit: ls.initialLimit, minLimit: ls.minLimit, maxLimit: ls.maxLimit, tolerance: ls.tolerance };
    for (const b of change.backends) {
      // a backend keeps what its limiter learned across reloads, under the new limits; turning
      // shedding off drops it
      if (!ls.enabled) b.limiter = undefined;
      else if (b.limiter === undefined) b.limiter = createConcurrencyLimiter(limiterOptions);
      else b.limiter.reconfigure(limiterOptions);
    }
    this.admission.capacity = ls.maxQueue;
    this.#live = new Map(change.backends.map((b) => [b.key, b]));
    for (const b of change.removed) {
      // close() lets in-flight requests of the old generation finish first
      void b.pool.close();
      this.#health.forget(b);
    }
    const built = buildPools(effective, new Map(change.backends.map((b) => [b.id, b])), this.#health, this.#deps.rng);
    return new Generation(id, proxySettingsFrom(config), built.pools, built.defaultPool, built.router, built.features);
  }
}

