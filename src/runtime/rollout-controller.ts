// Drives the canary rollouts on the runtime's clock: collects per-pool statistics of each analysis
// interval, feeds the pure state machine (traffic/rollout.ts), and turns its transitions into the
// live diversions of the data path, log events, metrics, admin API entries and the state file.
import type { RolloutConfig } from '../config/schema.ts';
import { isServerFailure, type Outcome } from '../core/outcome.ts';
import { analyse, canaryPercent, command, initialState, parseState, rolloutSignature, RolloutPhases, tick, type RolloutCommand, type RolloutEvent, type RolloutSpec, type RolloutState, type Transition, type Verdict } from '../traffic/rollout.ts';
import { WindowStats } from '../traffic/window-stats.ts';
import type { RuntimeDeps } from './deps.ts';
import { EventRing } from './event-ring.ts';
import type { StateStore } from './state-file.ts';
import type { Diversion, TrafficControl } from './traffic-control.ts';
import { refused, type Refused } from './command-result.ts';

const SECTION = 'rollouts';
const EVENTS_KEPT = 100;

export interface RolloutEntry extends RolloutEvent {
  readonly atIso: string;
}

interface LiveRollout {
  spec: RolloutSpec;
  state: RolloutState;
  canary: WindowStats;
  stable: WindowStats;
  lastTickMs: number;
  cancel: (() => void) | undefined;
  lastAnalysis: (Verdict & { readonly atIso: string }) | undefined;
  readonly events: EventRing<RolloutEntry>;
}

export type RolloutCommandResult = { ok: true; rollout: ReturnType<RolloutController['view']> } | Refused;

export function rolloutSpecOf(r: RolloutConfig): RolloutSpec {
  return {
    name: r.name,
    stable: r.stable,
    canary: r.canary,
    steps: r.steps,
    stepDurationMs: r.stepDuration,
    analysisIntervalMs: r.analysisInterval,
    maxErrorRate: r.maxErrorRate,
    maxP99Ms: r.maxP99,
    maxErrorRateIncrease: r.maxErrorRateIncrease,
    minSamples: r.minSamples,
    autoStart: r.autoStart,
  };
}

export class RolloutController {
  readonly #deps: RuntimeDeps;
  readonly #traffic: TrafficControl;
  readonly #store: StateStore;
  readonly #rollouts = new Map<string, LiveRollout>();
  /** pool -> the windows it feeds (as stable or as canary). */
  #windowsByPool = new Map<string, WindowStats[]>();
  #isStarted = false;

  constructor(deps: RuntimeDeps, traffic: TrafficControl, store: StateStore) {
    this.#deps = deps;
    this.#traffic = traffic;
    this.#store = store;
  }

  /** A rollout whose pools and steps are unchanged keeps its state across reloads; it resumes from the state file after a restart. */
  configure(configs: readonly RolloutConfig[]): void {
    const saved = (this.#store.read(SECTION) ?? {}) as Record<string, { signature?: unknown; state?: unknown }>;
    const names = new Set(configs.map((c) => c.name));
    for (const [name, live] of this.#rollouts) {
      if (names.has(name)) continue;
      live.cancel?.();
      this.#rollouts.delete(name);
      this.#clearGauges(name);
    }
    for (const config of configs) {
      const spec = rolloutSpecOf(config);
      const signature = rolloutSignature(spec);
      const live = this.#rollouts.get(spec.name);
      if (live !== undefined && rolloutSignature(live.spec) === signature) {
        live.spec = spec;
        continue;
      }
      live?.cancel?.();
      const entry: LiveRollout = {
        spec,
        state: { phase: 'pending', stepIndex: 0, heldMs: 0, passedInStep: 0 },
        canary: new WindowStats(),
        stable: new WindowStats(),
        lastTickMs: this.#deps.clock.now(),
        cancel: undefined,
        lastAnalysis: undefined,
        events: new EventRing<RolloutEntry>(EVENTS_KEPT, () => undefined),
      };
      this.#rollouts.set(spec.name, entry);
      const persisted = saved[spec.name];
      const restored = persisted?.signature === signature ? parseState(spec, persisted.state) : undefined;
      if (restored !== undefined) {
        this.#apply(entry, { state: restored, events: [{ type: 'restored', canaryPercent: canaryPercent(spec, restored), detail: `${restored.phase} at step ${restored.stepIndex + 1}, held ${Math.round(restored.heldMs)} ms` }] });
      } else {
        this.#apply(entry, initialState(spec));
      }
    }
    this.#windowsByPool = new Map();
    for (const live of this.#rollouts.values()) {
      this.#feed(live.spec.canary, live.canary);
      this.#feed(live.spec.stable, live.stable);
      if (this.#isStarted) this.#schedule(live);
    }
    this.#publishDiversions();
    this.#save();
  }

  start(): void {
    this.#isStarted = true;
    for (const live of this.#rollouts.values()) {
      live.lastTickMs = this.#deps.clock.now();
      this.#schedule(live);
    }
  }

  async stop(): Promise<void> {
    this.#isStarted = false;
    for (const live of this.#rollouts.values()) live.cancel?.();
    await this.#store.flush();
  }

  /** The record phase of every attempt: cheap, and nothing for pools no rollout watches. */
  recordOutcome(pool: string, outcome: Outcome): void {
    const windows = this.#windowsByPool.get(pool);
    if (windows === undefined) return;
    const isFailure = isServerFailure(outcome);
    for (const w of windows) w.record(outcome.latencyMs, isFailure);
  }

  command(name: string, cmd: RolloutCommand): RolloutCommandResult {
    const live = this.#rollouts.get(name);
    if (live === undefined) return refused('unknown-rollout', `no rollout named ${JSON.stringify(name)}`);
    const transition = command(live.spec, live.state, cmd);
    if (transition === undefined) return refused('invalid-transition', `cannot ${cmd} a rollout that is ${live.state.phase}`);
    if (cmd === 'resume') {
      // the paused time does not count, and its traffic is not analysed
      live.lastTickMs = this.#deps.clock.now();
      live.canary.reset();
      live.stable.reset();
    }
    this.#apply(live, transition);
    this.#publishDiversions();
    this.#save();
    return { ok: true, rollout: this.view(live) };
  }

  views() {
    return [...this.#rollouts.values()].map((live) => this.view(live));
  }

  find(name: string) {
    const live = this.#rollouts.get(name);
    return live === undefined ? undefined : this.view(live);
  }

  view(live: LiveRollout) {
    const { spec, state } = live;
    return {
      name: spec.name,
      stable: spec.stable,
      canary: spec.canary,
      phase: state.phase,
      step: state.stepIndex + 1,
      steps: spec.steps,
      canaryPercent: canaryPercent(spec, state),
      heldMs: Math.round(state.heldMs),
      stepDurationMs: spec.stepDurationMs,
      passedInStep: state.passedInStep,
      reason: state.reason,
      lastAnalysis: live.lastAnalysis,
      events: live.events.recent(),
    };
  }

  #feed(pool: string, w: WindowStats): void {
    const list = this.#windowsByPool.get(pool) ?? [];
    list.push(w);
    this.#windowsByPool.set(pool, list);
  }

  #schedule(live: LiveRollout): void {
    live.cancel?.();
    live.cancel = this.#deps.clock.setTimer(live.spec.analysisIntervalMs, () => {
      live.cancel = undefined;
      this.#analyse(live);
      if (this.#isStarted && this.#rollouts.get(live.spec.name) === live) this.#schedule(live);
    });
  }

  #analyse(live: LiveRollout): void {
    const now = this.#deps.clock.now();
    const elapsedMs = now - live.lastTickMs;
    live.lastTickMs = now;
    const verdict = analyse(live.spec, live.canary.summary(), live.stable.summary());
    live.canary.reset();
    live.stable.reset();
    if (live.state.phase !== 'progressing') return;
    live.lastAnalysis = { ...verdict, atIso: new Date().toISOString() };
    this.#deps.metrics.rolloutAnalyses.inc({ rollout: live.spec.name, verdict: verdict.verdict });
    if (verdict.verdict === 'inconclusive') this.#deps.logger.debug({ rollout: live.spec.name, reason: verdict.reason }, 'rollout analysis inconclusive');
    const transition = tick(live.spec, live.state, elapsedMs, verdict);
    const isChanged = transition.state !== live.state;
    this.#apply(live, transition);
    if (transition.events.length > 0) this.#publishDiversions();
    // held time is saved at every interval, so a restart mid-step resumes where it was
    if (isChanged) this.#save();
  }

  #apply(live: LiveRollout, transition: Transition): void {
    live.state = transition.state;
    const name = live.spec.name;
    const m = this.#deps.metrics;
    for (const event of transition.events) {
      const entry: RolloutEntry = { ...event, atIso: new Date().toISOString() };
      live.events.push(entry);
      m.rolloutTransitions.inc({ rollout: name, event: event.type });
      const fields = { rollout: name, event: event.type, canaryPercent: event.canaryPercent, stable: live.spec.stable, canary: live.spec.canary, detail: event.detail };
      if (event.type === 'rolled_back') this.#deps.logger.error(fields, `rollout ${name} rolled back: ${event.detail ?? ''}`);
      else this.#deps.logger.info(fields, `rollout ${name}: ${event.type}`);
    }
    m.rolloutCanaryWeight.set({ rollout: name }, canaryPercent(live.spec, live.state));
    for (const phase of RolloutPhases) m.rolloutState.set({ rollout: name, state: phase }, phase === live.state.phase ? 1 : 0);
  }

  #clearGauges(name: string): void {
    const m = this.#deps.metrics;
    m.rolloutCanaryWeight.remove({ rollout: name });
    for (const phase of RolloutPhases) m.rolloutState.remove({ rollout: name, state: phase });
  }

  #publishDiversions(): void {
    const diversions = new Map<string, Diversion>();
    for (const { spec, state } of this.#rollouts.values()) {
      const share = canaryPercent(spec, state) / 100;
      if (share > 0) diversions.set(spec.stable, { canary: spec.canary, share });
    }
    this.#traffic.setDiversions(diversions);
  }

  #save(): void {
    const out: Record<string, { signature: string; state: RolloutState }> = {};
    for (const { spec, state } of this.#rollouts.values()) out[spec.name] = { signature: rolloutSignature(spec), state };
    this.#store.write(SECTION, out);
  }
}
