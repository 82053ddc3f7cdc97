// Health per pool: one HealthSupervisor (active checks, outlier detection, slow start) for each
// pool, so each pool has its own [health] settings and its own ejection cap. The runtime talks to
// this as it talked to the single supervisor before pools existed.
import type { Config } from '../config/schema.ts';
import { DEFAULT_POOL } from '../config/schema-traffic.ts';
import type { Outcome } from '../core/outcome.ts';
import { selectEligible } from '../health/eligibility.ts';
import type { Backend } from './backend.ts';
import type { RuntimeDeps } from './deps.ts';
import { HealthSupervisor, type HealthEvent } from './health-supervisor.ts';
import type { EligibleSet } from './pool.ts';

export interface PoolHealthSpec {
  readonly name: string;
  /** The config with this pool's [health] in place of the top-level one. */
  readonly config: Config;
  readonly backends: readonly Backend[];
}

export class PoolHealth {
  readonly #deps: RuntimeDeps;
  readonly #onChange: () => void;
  readonly #supervisors = new Map<string, HealthSupervisor>();
  readonly #panicThresholds = new Map<string, number>();
  /** Backend name -> its pool. */
  #owner = new Map<string, string>();
  #isStarted = false;
  #eventCap = 1000;

  constructor(deps: RuntimeDeps, onChange: () => void) {
    this.#deps = deps;
    this.#onChange = onChange;
  }

  configure(pools: readonly PoolHealthSpec[]): void {
    const names = new Set(pools.map((p) => p.name));
    for (const [name, supervisor] of this.#supervisors) {
      if (names.has(name)) continue;
      void supervisor.stop();
      this.#supervisors.delete(name);
      this.#deps.metrics.poolEligibleBackends.remove({ pool: name });
      this.#deps.metrics.poolPanicMode.remove({ pool: name });
    }
    const owner = new Map<string, string>();
    for (const pool of pools) {
      let supervisor = this.#supervisors.get(pool.name);
      if (supervisor === undefined) {
        supervisor = new HealthSupervisor(this.#deps, this.#onChange);
        this.#supervisors.set(pool.name, supervisor);
        if (this.#isStarted) supervisor.start();
      }
      supervisor.configure(pool.config, pool.backends);
      this.#panicThresholds.set(pool.name, pool.config.health.panicThreshold);
      this.#eventCap = pool.config.runtime.healthCap;
      for (const b of pool.backends) owner.set(b.id, pool.name);
    }
    this.#owner = owner;
  }

  #of(backendName: string): HealthSupervisor | undefined {
    const pool = this.#owner.get(backendName);
    return pool === undefined ? undefined : this.#supervisors.get(pool);
  }

  /** A worker applies an active health check another worker ran; keys are unique across pools. */
  applyProbe(key: string, success: boolean): void {
    for (const supervisor of this.#supervisors.values()) supervisor.applyProbe(key, success);
  }

  forget(backend: Backend): void {
    (this.#of(backend.id) ?? this.#supervisors.get(DEFAULT_POOL))?.forget(backend);
  }

  start(): void {
    this.#isStarted = true;
    for (const s of this.#supervisors.values()) s.start();
  }

  async stop(): Promise<void> {
    this.#isStarted = false;
    await Promise.all([...this.#supervisors.values()].map((s) => s.stop()));
  }

  recordOutcome(backend: Backend, outcome: Outcome, now: number): void {
    this.#of(backend.id)?.recordOutcome(backend, outcome, now);
  }

  /** The default pool keeps the unlabelled pool gauges it always had; every pool has the labelled ones. */
  selectEligible(pool: string, backends: readonly Backend[]): EligibleSet {
    const supervisor = this.#supervisors.get(pool);
    const result = pool === DEFAULT_POOL && supervisor !== undefined ? supervisor.selectEligible(backends) : selectEligible(backends, this.#panicThresholds.get(pool) ?? 0);
    this.#deps.metrics.poolEligibleBackends.set({ pool }, result.eligible.length);
    this.#deps.metrics.poolPanicMode.set({ pool }, result.isPanic ? 1 : 0);
    return result;
  }

  note(backend: string, event: HealthEvent['event'], detail?: string): void {
    this.#of(backend)?.note(backend, event, detail);
  }

  refreshWeights(): void {
    for (const s of this.#supervisors.values()) s.refreshWeights();
  }

  recentEvents(): HealthEvent[] {
    const all = [...this.#supervisors.values()].flatMap((s) => s.recentEvents());
    return all.sort((a, b) => a.atIso.localeCompare(b.atIso)).slice(-this.#eventCap);
  }

  outlierSnapshot() {
    return [...this.#supervisors.values()].flatMap((s) => s.outlierSnapshot());
  }
}
