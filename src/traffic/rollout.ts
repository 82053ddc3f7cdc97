// The canary rollout state machine, pure: time comes in as elapsed milliseconds, the analysis as a
// verdict, and every call returns the next state and the events it caused. The runtime drives it
// on its clock, persists the state, and turns events into logs, metrics and admin API entries.
import type { WindowSummary } from './window-stats.ts';

export interface RolloutSpec {
  readonly name: string;
  readonly stable: string;
  readonly canary: string;
  /** Canary shares in percent, increasing. */
  readonly steps: readonly number[];
  readonly stepDurationMs: number;
  readonly analysisIntervalMs: number;
  /** Percent. */
  readonly maxErrorRate: number;
  readonly maxP99Ms: number;
  /** Percentage points over stable's error rate; undefined: not checked. */
  readonly maxErrorRateIncrease: number | undefined;
  readonly minSamples: number;
  readonly autoStart: boolean;
}

export const RolloutPhases = ['pending', 'progressing', 'paused', 'promoted', 'rolled_back', 'aborted'] as const;
export type RolloutPhase = (typeof RolloutPhases)[number];

export interface RolloutState {
  readonly phase: RolloutPhase;
  readonly stepIndex: number;
  /** Time the current step has been held while progressing (pauses and downtime do not count). */
  readonly heldMs: number;
  /** Analyses passed in the current step: a step ends only after at least one. */
  readonly passedInStep: number;
  /** Why the rollout stopped (rolled_back, aborted), when it did. */
  readonly reason?: string | undefined;
}

export type Verdict =
  | { readonly verdict: 'pass'; readonly canary: WindowSummary; readonly stable: WindowSummary }
  | { readonly verdict: 'fail'; readonly reasons: readonly string[]; readonly canary: WindowSummary; readonly stable: WindowSummary }
  | { readonly verdict: 'inconclusive'; readonly reason: string; readonly canary: WindowSummary; readonly stable: WindowSummary };

export type RolloutEventType = 'started' | 'step' | 'paused' | 'resumed' | 'promoted' | 'rolled_back' | 'aborted' | 'restored';

export interface RolloutEvent {
  readonly type: RolloutEventType;
  /** Canary share after the event, percent. */
  readonly canaryPercent: number;
  readonly detail?: string;
}

export interface Transition {
  readonly state: RolloutState;
  readonly events: readonly RolloutEvent[];
}

export function initialState(spec: RolloutSpec): Transition {
  const state: RolloutState = { phase: spec.autoStart ? 'progressing' : 'pending', stepIndex: 0, heldMs: 0, passedInStep: 0 };
  return { state, events: spec.autoStart ? [{ type: 'started', canaryPercent: canaryPercent(spec, state) }] : [] };
}

/** The share of the stable pool's requests that go to the canary, in percent. */
export function canaryPercent(spec: RolloutSpec, state: RolloutState): number {
  switch (state.phase) {
    case 'progressing':
    case 'paused':
      return spec.steps[state.stepIndex] ?? 0;
    case 'promoted':
      return 100;
    default:
      return 0;
  }
}

const percentOf = (w: WindowSummary): number => (w.requests === 0 ? 0 : (100 * w.failures) / w.requests);
const round = (x: number): number => Math.round(x * 100) / 100;

/** Canary against its limits and against stable over one analysis interval. */
export function analyse(spec: RolloutSpec, canary: WindowSummary, stable: WindowSummary): Verdict {
  if (canary.requests < spec.minSamples) {
    return { verdict: 'inconclusive', reason: `${canary.requests} canary requests, fewer than min_samples ${spec.minSamples}`, canary, stable };
  }
  const reasons: string[] = [];
  const errorRate = percentOf(canary);
  if (errorRate > spec.maxErrorRate) reasons.push(`canary error rate ${round(errorRate)} % > ${spec.maxErrorRate} %`);
  if (canary.p99Ms > spec.maxP99Ms) reasons.push(`canary p99 ${round(canary.p99Ms)} ms > ${spec.maxP99Ms} ms`);
  if (spec.maxErrorRateIncrease !== undefined && stable.requests >= spec.minSamples) {
    const increase = errorRate - percentOf(stable);
    if (increase > spec.maxErrorRateIncrease) reasons.push(`canary error rate ${round(errorRate)} % exceeds stable's by ${round(increase)} points > ${spec.maxErrorRateIncrease}`);
  }
  return reasons.length > 0 ? { verdict: 'fail', reasons, canary, stable } : { verdict: 'pass', canary, stable };
}

/**
 * One analysis interval has passed (`elapsedMs` of it while progressing). A failed verdict rolls
 * back at once; a step ends when it has been held for step_duration and passed at least one
 * analysis (so low traffic, always inconclusive, never promotes); after the last step: promoted.
 */
export function tick(spec: RolloutSpec, state: RolloutState, elapsedMs: number, verdict: Verdict): Transition {
  if (state.phase !== 'progressing') return { state, events: [] };
  if (verdict.verdict === 'fail') {
    const next: RolloutState = { ...state, phase: 'rolled_back', reason: verdict.reasons.join('; ') };
    return { state: next, events: [{ type: 'rolled_back', canaryPercent: 0, detail: next.reason }] };
  }
  const held: RolloutState = { ...state, heldMs: state.heldMs + elapsedMs, passedInStep: state.passedInStep + (verdict.verdict === 'pass' ? 1 : 0) };
  if (held.heldMs < spec.stepDurationMs || held.passedInStep === 0) return { state: held, events: [] };
  if (state.stepIndex + 1 >= spec.steps.length) {
    const next: RolloutState = { phase: 'promoted', stepIndex: state.stepIndex, heldMs: 0, passedInStep: 0 };
    return { state: next, events: [{ type: 'promoted', canaryPercent: 100 }] };
  }
  const next: RolloutState = { phase: 'progressing', stepIndex: state.stepIndex + 1, heldMs: 0, passedInStep: 0 };
  return { state: next, events: [{ type: 'step', canaryPercent: canaryPercent(spec, next), detail: `step ${next.stepIndex + 1} of ${spec.steps.length}` }] };
}

export type RolloutCommand = 'pause' | 'resume' | 'promote' | 'abort';

/** An operator's command; `undefined` when it makes no sense in the current phase (the API answers 409). */
export function command(spec: RolloutSpec, state: RolloutState, cmd: RolloutCommand): Transition | undefined {
  const isLive = state.phase === 'progressing' || state.phase === 'paused' || state.phase === 'pending';
  switch (cmd) {
    case 'pause': {
      if (state.phase !== 'progressing') return undefined;
      const next: RolloutState = { ...state, phase: 'paused' };
      return { state: next, events: [{ type: 'paused', canaryPercent: canaryPercent(spec, next) }] };
    }
    case 'resume': {
      if (state.phase !== 'paused' && state.phase !== 'pending') return undefined;
      const next: RolloutState = { ...state, phase: 'progressing' };
      return { state: next, events: [{ type: state.phase === 'pending' ? 'started' : 'resumed', canaryPercent: canaryPercent(spec, next) }] };
    }
    case 'promote': {
      if (!isLive) return undefined;
      const next: RolloutState = { phase: 'promoted', stepIndex: spec.steps.length - 1, heldMs: 0, passedInStep: 0, reason: 'promoted by operator' };
      return { state: next, events: [{ type: 'promoted', canaryPercent: 100, detail: 'by operator' }] };
    }
    case 'abort': {
      if (!isLive) return undefined;
      const next: RolloutState = { ...state, phase: 'aborted', reason: 'aborted by operator' };
      return { state: next, events: [{ type: 'aborted', canaryPercent: 0, detail: 'by operator' }] };
    }
  }
}

/** What identifies a rollout across reloads and restarts: a changed spec starts it afresh. */
export function rolloutSignature(spec: RolloutSpec): string {
  return JSON.stringify([spec.stable, spec.canary, spec.steps]);
}

/** A persisted state read back: undefined when it is not a state this spec can continue from. */
export function parseState(spec: RolloutSpec, value: unknown): RolloutState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const phase = RolloutPhases.find((p) => p === v.phase);
  const { stepIndex, heldMs, passedInStep } = v;
  if (phase === undefined || typeof stepIndex !== 'number' || typeof heldMs !== 'number' || typeof passedInStep !== 'number') return undefined;
  if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= spec.steps.length || heldMs < 0 || passedInStep < 0) return undefined;
  return { phase, stepIndex, heldMs, passedInStep, reason: typeof v.reason === 'string' ? v.reason : undefined };
}
