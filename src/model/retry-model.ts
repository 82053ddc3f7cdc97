// The retry model: P(the client will retry this attempt), learned online with FTRL-Proximal over
// hashed features. predict() is synchronous and allocation-free; learn() predicts, then updates.
import { fmix32, fnv1a32 } from '../core/hash.ts';
import { mayBeRetried } from '../core/outcome.ts';
import { createFeatureVector, extractFeatures, FEATURE_SPEC, featureSpecHash } from './features.ts';
import type { FeatureInput } from './features.ts';
import { createFtrlState, ftrlUpdate, ftrlWeight, predictLinear, sigmoid } from './ftrl.ts';
import type { FtrlParams } from './ftrl.ts';
import { ftrlParamIssues, MAX_HASH_BITS, MIN_HASH_BITS, ModelSnapshotError, ModelSnapshotErrorCode, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION } from './model-snapshot.ts';
import type { ModelSnapshot, PromotedCandidate, TrainingWindow } from './model-snapshot.ts';

export { parseModelSnapshot } from './model-snapshot.ts';
export type { ModelSnapshot } from './model-snapshot.ts';

export interface RetryModelOptions {
  /** 2^hashBits coordinates, 24 bytes each (18 -> 6 MB). */
  readonly hashBits?: number;
  readonly alpha?: number;
  readonly beta?: number;
  readonly l1?: number;
  readonly l2?: number;
}

/**
 * Defaults for ~10k-1M labelled events with ~25 features each. 2^18 buckets keep collisions rare
 * among the few thousand distinct feature values such traffic has (6 MB of state). A coordinate's
 * step is alpha / (beta + sqrt(n)), so frequent features settle and rare ones still move; on the
 * synthetic traffic of learning.test.ts, alpha = 0.2 reaches a progressive log loss 4 % lower at
 * 20k events than McMahan et al.'s 0.1 (0.121 vs 0.127) and is no worse at 100k, while 0.5 starts
 * to overshoot. l1 = 1 leaves a feature at exactly 0 until its accumulated gradient exceeds 1 (a
 * handful of consistent examples), so one-off routes or user agents cost nothing; l2 = 1 keeps
 * weights moderate where crosses and their parts are collinear.
 */
export const RETRY_MODEL_DEFAULTS = Object.freeze({ hashBits: 18, alpha: 0.2, beta: 1, l1: 1, l2: 1 });

export interface SnapshotMeta {
  /** When the snapshot is taken (epoch ms): pure code reads no clock. */
  readonly createdAtMs: number;
  readonly trainingWindow: TrainingWindow;
  readonly quality?: Readonly<Record<string, unknown>>;
  readonly promotedCandidate?: PromotedCandidate;
}

export interface RetryModel {
  /** Changes with every learn(); equal to the snapshot's version right after loading it. */
  readonly version: string;
  readonly hashBits: number;
  readonly params: FtrlParams;
  /** How many examples were learned, over the model's lineage (snapshots included). */
  readonly updates: number;
  /**
   * P(retried) in [1e-7, 1 - 1e-7]; synchronous, allocation-free, never NaN. Exactly 0 for a
   * response no client retry can follow by the label's definition (core/outcome.ts mayBeRetried:
   * a success): the model spends its weights only on the responses that may be retried.
   */
  predict(input: FeatureInput): number;
  /** Learns one labelled example; returns the prediction made before learning it. A response that cannot be retried teaches nothing. */
  learn(input: FeatureInput, retried: 0 | 1): number;
  snapshot(meta: SnapshotMeta): ModelSnapshot;
  /** z and n of every coordinate, read by the merge across instances (model-merge.ts); never written through. */
  readonly state: { readonly z: Float64Array; readonly n: Float64Array };
  /** Sets z and n of coordinates (the merge across instances) and recomputes their weights; the version changes. */
  setCoordinates(indices: ArrayLike<number>, z: ArrayLike<number>, n: ArrayLike<number>): void;
}

function hex8(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0');
}

function resolveOptions(options: RetryModelOptions, snapshot: ModelSnapshot | undefined): { hashBits: number; params: FtrlParams } {
  const hashBits = options.hashBits ?? snapshot?.hashBits ?? RETRY_MODEL_DEFAULTS.hashBits;
  const params = {
    alpha: options.alpha ?? snapshot?.params.alpha ?? RETRY_MODEL_DEFAULTS.alpha,
    beta: options.beta ?? snapshot?.params.beta ?? RETRY_MODEL_DEFAULTS.beta,
    l1: options.l1 ?? snapshot?.params.l1 ?? RETRY_MODEL_DEFAULTS.l1,
    l2: options.l2 ?? snapshot?.params.l2 ?? RETRY_MODEL_DEFAULTS.l2,
  };
  const issues = ftrlParamIssues(params, 'options');
  if (!Number.isInteger(hashBits) || hashBits < MIN_HASH_BITS || hashBits > MAX_HASH_BITS) {
    issues.push(`options.hashBits must be an integer in [${MIN_HASH_BITS}, ${MAX_HASH_BITS}], got ${hashBits}`);
  }
  if (issues.length > 0) throw new RangeError(`invalid retry model options: ${issues.join('; ')}`);
  return { hashBits, params: Object.freeze(params) };
}

/** Refuses a snapshot whose weights would be read for other features than they were learned on. */
function checkCompatible(snapshot: ModelSnapshot, hashBits: number): void {
  const mismatch = (message: string): never => {
    throw new ModelSnapshotError(ModelSnapshotErrorCode.mismatch, `retry model snapshot ${snapshot.version} cannot be loaded: ${message}`);
  };
  if (snapshot.hashBits !== hashBits) {
    mismatch(
      `it was trained with hashBits ${snapshot.hashBits} but the model is configured with hashBits ${hashBits}. ` +
        `Configure hashBits ${snapshot.hashBits}, or retrain with \`sibyl train\`.`,
    );
  }
  const expected = featureSpecHash(hashBits);
  if (snapshot.featureSpecHash !== expected) {
    mismatch(
      `it was trained with feature spec version ${snapshot.featureSpecVersion} (hash ${snapshot.featureSpecHash}) ` +
        `but this build extracts feature spec version ${FEATURE_SPEC.version} (hash ${expected}), so its weights belong to other features. ` +
        'Retrain with `sibyl train` on the labelled telemetry.',
    );
  }
}

export function createRetryModel(options: RetryModelOptions = {}, snapshot?: ModelSnapshot): RetryModel {
  const { hashBits, params } = resolveOptions(options, snapshot);
  const specHash = featureSpecHash(hashBits);
  const state = createFtrlState(2 ** hashBits);
  const features = createFeatureVector();
  let updates = 0;
  // A running hash of the training stream (every index and label), seeded by the origin, so that
  // a version names what the weights were learned from without hashing the weights.
  let lineage: number;
  let version: string | undefined;
  if (snapshot === undefined) {
    lineage = fnv1a32(`${specHash}|${JSON.stringify(params)}`);
  } else {
    checkCompatible(snapshot, hashBits);
    for (const [i, z, n] of snapshot.coordinates) {
      state.z[i] = z;
      state.n[i] = n;
      state.w[i] = ftrlWeight(z, n, params);
    }
    updates = snapshot.updates;
    // continue the snapshot's lineage, so that loading and learning more gives the same version
    // as having learned it all in one go
    const hash8 = /^m-\d+-([0-9a-f]{8})$/.exec(snapshot.version)?.[1];
    lineage = hash8 === undefined ? fnv1a32(snapshot.version) : Number.parseInt(hash8, 16);
    version = snapshot.version;
  }

  const currentVersion = (): string => {
    version ??= `m-${updates}-${hex8(lineage)}`;
    return version;
  };
  const predict = (input: FeatureInput): number => {
    if (!mayBeRetried(input.status, input.errorKind ?? 'none', input.retryMarker === true)) return 0;
    extractFeatures(input, hashBits, features);
    return sigmoid(predictLinear(state, features.indices, features.values, features.count));
  };

  return {
    get version() {
      return currentVersion();
    },
    hashBits,
    params,
    get updates() {
      return updates;
    },
    predict,
    learn(input, retried) {
      const p = predict(input);
      if (p === 0) return p; // by definition never retried: nothing to learn
      const y = retried === 1 ? 1 : 0;
      ftrlUpdate(state, params, features.indices, features.values, features.count, p, y);
      let h = lineage;
      for (let k = 0; k < features.count; k++) h = Math.imul(h ^ features.indices[k]!, 0x01000193);
      lineage = fmix32(h ^ (y + 1));
      updates++;
      version = undefined;
      return p;
    },
    state: { z: state.z, n: state.n },
    setCoordinates(indices, z, n) {
      let h = lineage;
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        state.z[i] = z[k]!;
        state.n[i] = n[k]!;
        state.w[i] = ftrlWeight(z[k]!, n[k]!, params);
        h = Math.imul(h ^ i, 0x01000193);
      }
      // a merge is part of the lineage: a merged model is not the version it was before
      lineage = fmix32(h ^ 0x4d455247);
      version = undefined;
    },
    snapshot(meta) {
      const coordinates: Array<[number, number, number]> = [];
      const { z, n } = state;
      for (let i = 0; i < n.length; i++) if (n[i]! > 0) coordinates.push([i, z[i]!, n[i]!]);
      return {
        format: SNAPSHOT_FORMAT,
        formatVersion: SNAPSHOT_FORMAT_VERSION,
        version: currentVersion(),
        createdAtIso: new Date(meta.createdAtMs).toISOString(),
        featureSpecVersion: FEATURE_SPEC.version,
        featureSpecHash: specHash,
        hashBits,
        updates,
        params,
        coordinates,
        trainingWindow: { ...meta.trainingWindow },
        ...(meta.quality === undefined ? {} : { quality: meta.quality }),
        ...(meta.promotedCandidate === undefined ? {} : { promotedCandidate: meta.promotedCandidate }),
      };
    },
  };
}
