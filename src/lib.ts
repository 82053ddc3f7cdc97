// The library API, as the seed's README uses it: load a model, call predict(features).
//
//   import { RetryPredictor } from 'sibyl';
//   const predictor = await RetryPredictor.load();          // SIBYL_MODEL_PATH, or the shipped prior
//   const p = predictor.predict({ response_time_ms: 750, status_code: 500, bytes_sent: 1024 });
import { parsePredictBody, recommendedAction, toFeatureInput, type PredictRequest, type RecommendedAction } from './admin/predict-api.ts';
import type { FeatureInput } from './model/features.ts';
import { readSnapshotFile, SHIPPED_PRIOR_PATH } from './model/model-store.ts';
import { createRetryModel, type RetryModel } from './model/retry-model.ts';

export type { FeatureInput, PredictRequest, RecommendedAction };
export type { LabelledEvent, AttemptEvent } from './telemetry/attempt-event.ts';

export interface Thresholds {
  readonly routeBackup: number;
  readonly circuitBreak: number;
}

const DEFAULT_THRESHOLDS: Thresholds = { routeBackup: 0.5, circuitBreak: 0.8 };

export class RetryPredictor {
  readonly #model: RetryModel;
  readonly #thresholds: Thresholds;

  private constructor(model: RetryModel, thresholds: Thresholds) {
    this.#model = model;
    this.#thresholds = thresholds;
  }

  /** Loads a snapshot written by `sibyl train` or by a running Sibyl ([model] path). */
  static async load(path: string = process.env.SIBYL_MODEL_PATH ?? SHIPPED_PRIOR_PATH, thresholds: Thresholds = DEFAULT_THRESHOLDS): Promise<RetryPredictor> {
    return new RetryPredictor(createRetryModel({}, await readSnapshotFile(path)), thresholds);
  }

  get modelVersion(): string {
    return this.#model.version;
  }

  /**
   * P(the client retries this response). Takes the seed's fields (status_code, response_time_ms,
   * bytes_sent, anomaly_score, ...) or Sibyl's event fields (status, latencyMs, ...).
   * Throws a TypeError naming the field when the input is invalid.
   */
  predict(input: PredictRequest | FeatureInput): number {
    return this.#model.predict(this.#features(input));
  }

  /** The seed API's answer: probability, ALLOW / ROUTE_BACKUP / CIRCUIT_BREAK, model version. */
  advise(input: PredictRequest | FeatureInput): { retry_probability: number; recommended_action: RecommendedAction; model_version: string } {
    const p = this.predict(input);
    return { retry_probability: p, recommended_action: recommendedAction(p, this.#thresholds), model_version: this.#model.version };
  }

  #features(input: PredictRequest | FeatureInput): FeatureInput {
    if (typeof input === 'object' && input !== null && 'status_code' in input) {
      const parsed = parsePredictBody(input);
      if (!parsed.ok) throw new TypeError(`${parsed.field}: ${parsed.message}`);
      return toFeatureInput(parsed.requests[0] as PredictRequest);
    }
    const status = (input as FeatureInput | null)?.status;
    if (typeof status !== 'number' || !Number.isInteger(status)) throw new TypeError('status (or status_code): expected an integer HTTP status');
    return input as FeatureInput;
  }
}
