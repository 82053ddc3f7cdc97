// A candidate version of the retry model beside the live one ([model_rollout]). Shadow: it scores
// every response (disagreements |dp| > threshold counted and sampled) and learns from the same
// labels off the data path, and both are scored on the same labelled events. Canary: it also makes
// a share of the predictions Sibyl acts on, and is promoted (the runtime swaps it in) when its
// progressive log loss beats the live model's by a margin over a minimum sample, or rolled back
// when it is worse by that margin.
import type { Config } from '../config/schema.ts';
import { OnlineLearner } from '../model/learner.ts';
import type { FeatureInput } from '../model/features.ts';
import { ProgressiveValidator } from '../model/quality.ts';
import type { RetryModel } from '../model/retry-model.ts';
import type { LabelledEvent } from '../telemetry/attempt-event.ts';
import type { RuntimeDeps } from './deps.ts';
import { EventRing } from './event-ring.ts';

export type CandidateState = 'shadow' | 'canary' | 'promoted' | 'rolled_back';
const STATES: readonly CandidateState[] = ['shadow', 'canary', 'promoted', 'rolled_back'];

export interface Disagreement {
  readonly atIso: string;
  readonly status: number;
  readonly attempt: number;
  readonly livePrediction: number;
  readonly candidatePrediction: number;
}

export class ModelCandidate {
  readonly model: RetryModel;
  readonly path: string;
  /** The version the candidate file held: a promotion records it, so a restart does not run it again. */
  readonly fileVersion: string;
  readonly #deps: RuntimeDeps;
  readonly #options: Config['modelRollout'];
  readonly #learner: OnlineLearner;
  readonly #live: ProgressiveValidator;
  readonly #candidate: ProgressiveValidator;
  readonly #samples: EventRing<Disagreement>;
  #state: CandidateState;
  #labelled = 0;
  #positives = 0;
  #scored = 0;
  #disagreements = 0;
  #reason: string | undefined;

  constructor(model: RetryModel, path: string, config: Config, deps: RuntimeDeps) {
    this.model = model;
    this.path = path;
    this.fileVersion = model.version;
    this.#deps = deps;
    this.#options = config.modelRollout;
    this.#state = config.modelRollout.mode;
    this.#live = new ProgressiveValidator(config.model.qualityWindow);
    this.#candidate = new ProgressiveValidator(config.model.qualityWindow);
    this.#samples = new EventRing(Math.max(1, config.modelRollout.sampleDisagreements), () => undefined);
    // `prediction` on a labelled event is the live model's, made before the label existed: the
    // same progressive footing as the candidate's predict-then-learn
    this.#learner = new OnlineLearner(config.telemetry.queueCapacity, { learn: (e, y) => this.model.learn(e, y) }, {
      onScored: (e, p) => {
        this.#labelled++;
        this.#positives += e.retried;
        this.#candidate.add(p, e.retried);
        this.#live.add(e.prediction, e.retried);
      },
      onDrop: () => deps.metrics.telemetryDropped.inc({ queue: 'candidate' }),
    });
    this.#publishState();
  }

  get state(): CandidateState {
    return this.#state;
  }

  /** While it runs beside the live model (not promoted, not rolled back). */
  get isActive(): boolean {
    return this.#state === 'shadow' || this.#state === 'canary';
  }

  /** record: scores the response too and compares; synchronous and allocation-free unless sampled. */
  observe(event: FeatureInput & { readonly status: number; readonly attempt: number }, liveP: number): void {
    if (!this.isActive) return;
    const p = this.model.predict(event);
    this.#scored++;
    this.#deps.metrics.candidateScored.inc();
    if (Math.abs(p - liveP) <= this.#options.disagreementThreshold) return;
    this.#disagreements++;
    this.#deps.metrics.candidateDisagreements.inc();
    if (this.#options.sampleDisagreements > 0) this.#samples.push({ atIso: new Date().toISOString(), status: event.status, attempt: event.attempt, livePrediction: liveP, candidatePrediction: p });
  }

  /** A prediction Sibyl acts on: in canary, the candidate's for its share. */
  choose(input: FeatureInput, liveP: number): number {
    if (this.#state !== 'canary' || this.#deps.rng.next() * 100 >= this.#options.canaryPercent) return liveP;
    return this.model.predict(input);
  }

  enqueue(event: LabelledEvent): void {
    if (this.isActive) this.#learner.enqueue(event);
  }

  /**
   * Learns what is queued, then judges a canary: 'promote' or 'rollback' once both models were
   * scored on min_samples labelled events holding both classes (min_positive_labels of each) and
   * their log losses differ by the margin.
   */
  learnNow(): 'promote' | 'rollback' | undefined {
    if (!this.isActive) return undefined;
    this.#learner.drain();
    const live = this.#live.report().logLoss;
    const candidate = this.#candidate.report().logLoss;
    if (live !== null) this.#deps.metrics.candidateLogLoss.set({ model: 'live' }, live);
    if (candidate !== null) this.#deps.metrics.candidateLogLoss.set({ model: 'candidate' }, candidate);
    if (this.#state !== 'canary' || this.#labelled < this.#options.minSamples || live === null || candidate === null) return undefined;
    const minEach = this.#options.minPositiveLabels;
    if (this.#positives < minEach || this.#labelled - this.#positives < minEach) return undefined;
    const margin = this.#options.promoteMargin;
    const figures = `candidate log loss ${candidate.toFixed(4)}, live ${live.toFixed(4)}, AUC ${this.#candidate.report().auc?.toFixed(4)} vs ${this.#live.report().auc?.toFixed(4)}, over ${this.#labelled} labelled events of which ${this.#positives} retried`;
    if (candidate < live * (1 - margin)) return this.#end('promoted', figures);
    if (candidate > live * (1 + margin)) return this.#end('rolled_back', figures);
    return undefined;
  }

  /** An operator's decision; false when the candidate no longer runs. */
  command(cmd: 'promote' | 'abort'): boolean {
    if (!this.isActive) return false;
    this.#end(cmd === 'promote' ? 'promoted' : 'rolled_back', `${cmd === 'promote' ? 'promoted' : 'rolled back'} by operator`);
    return true;
  }

  #end(state: 'promoted' | 'rolled_back', reason: string): 'promote' | 'rollback' {
    this.#state = state;
    this.#reason = reason;
    this.#publishState();
    const log = state === 'promoted' ? this.#deps.logger.info.bind(this.#deps.logger) : this.#deps.logger.warn.bind(this.#deps.logger);
    log({ candidate: this.path, state, reason }, state === 'promoted' ? 'candidate retry model promoted: it now serves every prediction' : 'candidate retry model rolled back: it scored worse than the live model');
    return state === 'promoted' ? 'promote' : 'rollback';
  }

  #publishState(): void {
    for (const s of STATES) this.#deps.metrics.candidateState.set({ state: s }, s === this.#state ? 1 : 0);
  }

  report() {
    return {
      path: this.path,
      version: this.model.version,
      state: this.#state,
      reason: this.#reason,
      scored: this.#scored,
      disagreements: this.#disagreements,
      disagreementRate: this.#scored === 0 ? null : this.#disagreements / this.#scored,
      labelled: this.#labelled,
      retriedLabels: this.#positives,
      quality: { candidate: this.#candidate.report(), live: this.#live.report() },
      samples: this.#samples.recent(),
    };
  }
}
