// Wires the pure health pieces (health state, outlier detector, eligibility, slow start) and the
// active checker to live backends, and keeps the health metrics in step.
import type { Outcome } from '../core/outcome.ts';
import type { Config } from '../config/schema.ts';
import { ActiveHealthChecker } from '../health/active-checker.ts';
import { selectEligible } from '../health/eligibility.ts';
import { createHealthState } from '../health/health-state.ts';
import { createHttpProbe } from '../health/http-probe.ts';
import { createOutlierDetector } from '../health/outlier-detector.ts';
import { slowStartFactor } from '../health/slow-start.ts';
import { createTcpProbe } from '../health/tcp-probe.ts';
import type { Backend } from './backend.ts';
import { tlsConnectOptions } from './upstream-tls.ts';
import { EventRing } from './event-ring.ts';
import type { EligibleSet } from './generation.ts';

export interface HealthEvent {
  readonly atIso: string;
  readonly backend: string;
  readonly event: 'healthy' | 'unhealthy' | 'ejected' | 'returned' | 'drained' | 'undrained' | 'weight';
  readonly detail?: string;
}
import type { RuntimeDeps } from './deps.ts';

type HealthState = ReturnType<typeof createHealthState>;
type OutlierDetector = ReturnType<typeof createOutlierDetector>;

const SWEEP_INTERVAL_MS = 250;

export class HealthSupervisor {
  readonly #deps: RuntimeDeps;
  readonly #onChange: () => void;
  readonly #states = new Map<string, HealthState>();
  #backends: readonly Backend[] = [];
  #config: Config | undefined;
  #checker: ActiveHealthChecker | undefined;
  #checkerSignature = '';
  #outliers: OutlierDetector | undefined;
  #outlierSignature = '';
  #cancelSweep: (() => void) | undefined;
  #events: EventRing<HealthEvent> | undefined;
  #isStarted = false;

  constructor(deps: RuntimeDeps, onChange: () => void) {
    this.#deps = deps;
    this.#onChange = onChange;
  }

  configure(config: Config, backends: readonly Backend[]): void {
    this.#config = config;
    this.#backends = backends;
    if (this.#events === undefined) this.#events = new EventRing(config.runtime.healthCap, () => this.#deps.metrics.healthEventsDropped.inc());
    else this.#events.resize(config.runtime.healthCap);
    const h = config.health;
    const thresholds = { healthyThreshold: h.healthyThreshold, unhealthyThreshold: h.unhealthyThreshold };
    for (const b of backends) {
      const state = this.#states.get(b.key);
      if (state === undefined) this.#states.set(b.key, createHealthState(thresholds, true));
      else state.reconfigure(thresholds);
      // without active checks nothing would ever bring back a backend they took out
      if (!h.enabled && !b.isHealthy) this.#readmit(b);
      this.#publish(b);
    }
    const od = config.outlierDetection;
    const outlierSignature = JSON.stringify(od);
    if (outlierSignature !== this.#outlierSignature) {
      // new thresholds: start a fresh detector, and end the ejections the old one made
      this.#outlierSignature = outlierSignature;
      this.#outliers = undefined;
      for (const b of backends) {
        if (!b.isEjected) continue;
        b.isEjected = false;
        this.#publish(b);
      }
    }
    this.#outliers ??= createOutlierDetector({
      consecutive5xx: od.enabled ? od.consecutive5xx : 0,
      consecutiveGatewayFailure: od.enabled ? od.consecutiveGatewayFailure : 0,
      baseEjectionTimeMs: od.baseEjectionTime,
      maxEjectionTimeMs: od.maxEjectionTime,
      maxEjectionPercent: od.maxEjectionPercent,
      isTightenedByPredictedRetries: od.tightenByPredictedRetries,
    });
    this.#outliers.setMembers(backends.map((b) => b.id));
    this.#configureChecker(config);
    this.refreshWeights();
  }

  /** Health checks were turned off: a backend they had taken out counts as healthy again. */
  #readmit(b: Backend): void {
    this.#states.set(b.key, createHealthState({ healthyThreshold: this.#config?.health.healthyThreshold ?? 1, unhealthyThreshold: this.#config?.health.unhealthyThreshold ?? 1 }, true));
    b.isHealthy = true;
    b.healthySinceMs = this.#deps.clock.now();
    this.#deps.metrics.healthTransitions.inc({ backend: b.id, state: 'healthy' });
    this.#deps.logger.info({ backend: b.id }, 'health checks disabled: backend counts as healthy again');
    this.note(b.id, 'healthy', 'health checks disabled');
  }

  forget(backend: Backend): void {
    this.#states.delete(backend.key);
    const labels = { backend: backend.id };
    for (const g of [this.#deps.metrics.backendHealthy, this.#deps.metrics.backendEjected, this.#deps.metrics.backendDraining, this.#deps.metrics.backendWeight]) g.remove(labels);
  }

  start(): void {
    this.#isStarted = true;
    this.#checker?.start();
    this.#scheduleSweep();
  }

  async stop(): Promise<void> {
    this.#isStarted = false;
    this.#cancelSweep?.();
    await this.#checker?.stop();
  }

  recordOutcome(backend: Backend, outcome: Outcome, now: number): void {
    const predictedRetryShare = backend.predictedRetryOnFailure;
    if (this.#outliers?.record(backend.id, outcome, now, predictedRetryShare) === 'ejected') {
      backend.isEjected = true;
      this.#deps.metrics.ejections.inc({ backend: backend.id });
      this.#deps.logger.warn({ backend: backend.id, status: outcome.status, errorKind: outcome.errorKind, predictedRetryShare }, 'backend ejected by outlier detection');
      this.note(backend.id, 'ejected', `${outcome.errorKind === 'none' ? `status ${outcome.status}` : outcome.errorKind}`);
      this.#publish(backend);
      this.#onChange();
    }
  }

  selectEligible(backends: readonly Backend[]): EligibleSet {
    const result = selectEligible(backends, this.#config?.health.panicThreshold ?? 0);
    this.#deps.metrics.panicMode.set(result.isPanic ? 1 : 0);
    this.#deps.metrics.eligibleBackends.set(result.eligible.length);
    if (result.isPanic) this.#deps.logger.warn('panic mode: too few healthy backends, routing to all of them');
    return result;
  }

  /** Recomputes effective weights (slow start ramps) and tells the generation to re-select. */
  refreshWeights(): void {
    const windowMs = this.#config?.health.slowStart ?? 0;
    const now = this.#deps.clock.now();
    for (const b of this.#backends) {
      const factor = b.healthySinceMs === -Infinity ? 1 : slowStartFactor(now - b.healthySinceMs, windowMs);
      b.effectiveWeight = b.weight * factor;
      this.#deps.metrics.backendWeight.set({ backend: b.id }, b.effectiveWeight);
    }
    this.#onChange();
  }

  note(backend: string, event: HealthEvent['event'], detail?: string): void {
    this.#events?.push({ atIso: new Date().toISOString(), backend, event, ...(detail === undefined ? {} : { detail }) });
  }

  recentEvents(): HealthEvent[] {
    return this.#events?.recent() ?? [];
  }

  outlierSnapshot() {
    return this.#outliers?.snapshot(this.#deps.clock.now()) ?? [];
  }

  #configureChecker(config: Config): void {
    const h = config.health;
    const signature = JSON.stringify(h);
    if (signature !== this.#checkerSignature) {
      this.#checkerSignature = signature;
      void this.#checker?.stop();
      this.#checker = undefined;
      // with workers, only the probing one checks; the others apply its results (applyProbe)
      if (h.enabled && this.#deps.healthProbes?.isProbing !== false) {
        const probe = h.kind === 'tcp' ? createTcpProbe() : createHttpProbe({ path: h.path, expectedStatusMin: h.expectedStatus.min, expectedStatusMax: h.expectedStatus.max });
        this.#checker = new ActiveHealthChecker(
          { intervalMs: h.interval, timeoutMs: h.timeout, jitterFraction: h.jitter },
          { clock: this.#deps.clock, rng: this.#deps.rng, probe, onResult: (id, ok) => this.#onProbe(id, ok) },
        );
        if (this.#isStarted) this.#checker.start();
      }
    }
    this.#checker?.setTargets(this.#backends.map((b) => ({ id: b.key, host: b.host, port: b.port, tls: b.tls === undefined ? undefined : tlsConnectOptions(b.tls, b.host) })));
  }

  /** A check another worker ran (it counted it in its metrics). */
  applyProbe(key: string, success: boolean): void {
    this.#apply(key, success, false);
  }

  #onProbe(key: string, success: boolean): void {
    this.#apply(key, success, true);
    this.#deps.healthProbes?.publish(key, success);
  }

  #apply(key: string, success: boolean, isOwnCheck: boolean): void {
    const backend = this.#backends.find((b) => b.key === key);
    const state = this.#states.get(key);
    if (backend === undefined || state === undefined) return;
    if (isOwnCheck) this.#deps.metrics.healthChecks.inc({ backend: backend.id, result: success ? 'success' : 'failure' });
    if (!state.record(success)) return;
    backend.isHealthy = state.isHealthy;
    if (backend.isHealthy) backend.healthySinceMs = this.#deps.clock.now();
    this.#deps.metrics.healthTransitions.inc({ backend: backend.id, state: backend.isHealthy ? 'healthy' : 'unhealthy' });
    this.#deps.logger.warn({ backend: backend.id, isHealthy: backend.isHealthy }, 'backend health changed');
    this.note(backend.id, backend.isHealthy ? 'healthy' : 'unhealthy');
    this.#publish(backend);
    this.refreshWeights();
  }

  #scheduleSweep(): void {
    this.#cancelSweep = this.#deps.clock.setTimer(SWEEP_INTERVAL_MS, () => {
      this.#sweep();
      if (this.#isStarted) this.#scheduleSweep();
    });
  }

  #sweep(): void {
    const now = this.#deps.clock.now();
    const returned = this.#outliers?.sweep(now) ?? [];
    for (const id of returned) {
      const backend = this.#backends.find((b) => b.id === id);
      if (backend === undefined) continue;
      backend.isEjected = false;
      backend.healthySinceMs = now;
      this.#deps.logger.info({ backend: id }, 'backend returned from ejection');
      this.note(id, 'returned');
      this.#publish(backend);
    }
    const windowMs = this.#config?.health.slowStart ?? 0;
    const isRamping = windowMs > 0 && this.#backends.some((b) => now - b.healthySinceMs < windowMs + SWEEP_INTERVAL_MS);
    if (returned.length > 0 || isRamping) this.refreshWeights();
  }

  #publish(b: Backend): void {
    const m = this.#deps.metrics;
    const labels = { backend: b.id };
    m.backendHealthy.set(labels, b.isHealthy ? 1 : 0);
    m.backendEjected.set(labels, b.isEjected ? 1 : 0);
    m.backendDraining.set(labels, b.isDraining ? 1 : 0);
  }
}
