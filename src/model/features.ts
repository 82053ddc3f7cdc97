// Hashed sparse features for the retry model. One example becomes up to 28 (index, value) pairs
// in a preallocated FeatureVector: categorical features hash "name=value" with FNV-1a into
// [0, 2^hashBits) and carry 1; numeric features hash their name and carry the value; crosses
// (conjunctions of two parts) mix the parts' values into the cross's "name=" state.
import { fmix32 } from '../core/hash.ts';
import type { AttemptEvent } from '../telemetry/attempt-event.ts';

/**
 * What the model may see of an attempt: everything known when the response ended. Deliberately
 * absent, and never to be added:
 * - `retried`, the label, and `prediction`, the model's own output;
 * - `requestId`, `startedAtMs`, `endedAtMs`: unique per request, they can only be memorised;
 * - `clientKey`, `fingerprint`: the label is computed by matching exactly these two, so any
 *   feature derived from them leaks the label. The seed project's 100 % AUC was such leakage.
 * The client's history enters only as `clientRetryRate`, computed from labels already known.
 */
export type FeatureInput = Pick<AttemptEvent, 'status'> &
  Partial<
    Pick<
      AttemptEvent,
      | 'errorKind'
      | 'latencyMs'
      | 'bytesIn'
      | 'bytesOut'
      | 'retryAfterSec'
      | 'attempt'
      | 'method'
      | 'route'
      | 'userAgentFamily'
      | 'clientRetryRate'
      | 'clientLabelCount'
      | 'backend'
      | 'backendLatencyEwmaMs'
      | 'backendErrorEwma'
      | 'backendInFlight'
      | 'retryMarker'
    >
  >;

/** Upper bounds (exclusive) of the buckets; a value at or above the last one is in the last bucket. */
const LATENCY_MS = [10, 50, 200, 1000, 5000] as const;
const RETRY_AFTER_SEC = [1, 2, 6, 31, 121] as const;
const ERROR_EWMA = [0.001, 0.01, 0.05, 0.2, 0.5] as const;
const IN_FLIGHT = [1, 3, 9, 33, 129] as const;
const CLIENT_RETRY_RATE = [1e-9, 0.25, 0.5, 0.75] as const;
/** log1p(bytes) is bucketed by its integer part (e-fold steps), up to this bucket. */
const MAX_BYTES_BUCKET = 16;
/** log1p(latencyMs) / 10 keeps the numeric latency near [0, 1] (1 is ~22 s), like the indicators. */
const LOG_LATENCY_SCALE = 10;
/** The client's retry log-odds are clamped to +-this and divided by it (values in [-1, 1]). */
const LOG_ODDS_SCALE = 4;

/**
 * Every feature template, in extraction order. A change to names, buckets or scaling must bump
 * `version`: snapshots record featureSpecHash and refuse to load into different code.
 */
export const FEATURE_SPEC = Object.freeze({
  version: 3,
  names: Object.freeze([
    'bias',
    'status',
    'statusClass',
    'errorKind',
    'logLatency',
    'latencyBucket',
    'bytesOutBucket',
    'bytesInBucket',
    'hasRetryAfter',
    'retryAfterBucket',
    'attempt',
    'method',
    'route',
    'userAgentFamily',
    'clientRetryRate',
    'clientRetryBucket',
    'backend',
    'backendLatencyBucket',
    'backendErrorBucket',
    'backendInFlightBucket',
    'statusXAttempt',
    'statusXUserAgentFamily',
    'statusClassXClientRetryBucket',
    'errorKindXUserAgentFamily',
    'methodXStatusClass',
    'attemptXClientRetryBucket',
    'attemptXUserAgentFamily',
    'methodXUserAgentFamily',
  ] as const),
  buckets: Object.freeze({
    latencyMs: LATENCY_MS,
    retryAfterSec: RETRY_AFTER_SEC,
    errorEwma: ERROR_EWMA,
    inFlight: IN_FLIGHT,
    clientRetryRate: CLIENT_RETRY_RATE,
    maxBytesBucket: MAX_BYTES_BUCKET,
    logLatencyScale: LOG_LATENCY_SCALE,
    clientRetryLogOddsScale: LOG_ODDS_SCALE,
  }),
});

export type FeatureName = (typeof FEATURE_SPEC.names)[number];

/** At most one pair per template. */
export const MAX_FEATURES = FEATURE_SPEC.names.length;

/** A stable hex id of the feature code: names, buckets, version and the hash width. */
export function featureSpecHash(hashBits: number): string {
  const text = JSON.stringify({ version: FEATURE_SPEC.version, names: FEATURE_SPEC.names, buckets: FEATURE_SPEC.buckets, hashBits });
  const hex = (h: number): string => fmix32(fnvMix(h, text)).toString(16).padStart(8, '0');
  return hex(FNV_OFFSET) + hex(0x9747b28c);
}

export interface FeatureVector {
  readonly indices: Uint32Array;
  readonly values: Float64Array;
  /** How many leading pairs are valid. */
  count: number;
}

/** One vector to be reused by every extractFeatures call of one caller. */
export function createFeatureVector(): FeatureVector {
  return { indices: new Uint32Array(MAX_FEATURES), values: new Float64Array(MAX_FEATURES), count: 0 };
}

// FNV-1a, incremental, so that "name=value" is hashed without building the string: the state after
// "name=" is precomputed, the value's characters or digits are mixed in, fmix32 finishes. The
// result equals core/hash.ts fnv1a32(`${name}=${value}`).
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvMix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Mixes the decimal digits of a non-negative integer below 2^31, most significant first. */
function fnvMixInt(h: number, v: number): number {
  // integer maths only, and no recursion, so that V8 inlines it
  let div = 1;
  while (div <= 100_000_000 && div * 10 <= v) div *= 10;
  for (; div > 0; div = (div / 10) | 0) h = Math.imul(h ^ (48 + (((v / div) | 0) % 10)), FNV_PRIME);
  return h;
}

// FNV states after "name=" (numeric features: after the bare name), computed once.
const prefix = (name: FeatureName): number => fnvMix(FNV_OFFSET, `${name}=`);
const BIAS = fnvMix(FNV_OFFSET, 'bias');
const STATUS = prefix('status');
const STATUS_CLASS = prefix('statusClass');
const ERROR_KIND = prefix('errorKind');
const LOG_LATENCY = fnvMix(FNV_OFFSET, 'logLatency');
const LATENCY_BUCKET = prefix('latencyBucket');
const BYTES_OUT_BUCKET = prefix('bytesOutBucket');
const BYTES_IN_BUCKET = prefix('bytesInBucket');
const HAS_RETRY_AFTER = prefix('hasRetryAfter');
const RETRY_AFTER_BUCKET = prefix('retryAfterBucket');
const ATTEMPT = prefix('attempt');
const METHOD = prefix('method');
const ROUTE = prefix('route');
const USER_AGENT_FAMILY = prefix('userAgentFamily');
const CLIENT_RETRY_RATE_BY_LABELS = prefix('clientRetryRate');
const CLIENT_RETRY_BUCKET = prefix('clientRetryBucket');
const BACKEND = prefix('backend');
const BACKEND_LATENCY_BUCKET = prefix('backendLatencyBucket');
const BACKEND_ERROR_BUCKET = prefix('backendErrorBucket');
const BACKEND_IN_FLIGHT_BUCKET = prefix('backendInFlightBucket');
const STATUS_X_ATTEMPT = prefix('statusXAttempt');
const STATUS_X_USER_AGENT_FAMILY = prefix('statusXUserAgentFamily');
const STATUS_CLASS_X_CLIENT_RETRY_BUCKET = prefix('statusClassXClientRetryBucket');
const ERROR_KIND_X_USER_AGENT_FAMILY = prefix('errorKindXUserAgentFamily');
const METHOD_X_STATUS_CLASS = prefix('methodXStatusClass');
const ATTEMPT_X_CLIENT_RETRY_BUCKET = prefix('attemptXClientRetryBucket');
const ATTEMPT_X_USER_AGENT_FAMILY = prefix('attemptXUserAgentFamily');
const METHOD_X_USER_AGENT_FAMILY = prefix('methodXUserAgentFamily');

/** Appends one pair; `h` is an FNV state, finished here. */
function push(out: FeatureVector, h: number, value: number, mask: number): void {
  const k = out.count;
  out.indices[k] = fmix32(h) & mask;
  out.values[k] = value;
  out.count = k + 1;
}

function bucketOf(x: number, bounds: readonly number[]): number {
  for (let i = 0; i < bounds.length; i++) if (x < bounds[i]!) return i;
  return bounds.length;
}

function isNumber(x: number | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** floor(log1p(bytes)) = k exactly when e^k - 1 <= bytes < e^(k+1) - 1: compared, not computed. */
const BYTES_BOUNDS = Array.from({ length: MAX_BYTES_BUCKET }, (_, k) => Math.expm1(k + 1));

/** Status 0 is "no response"; an invalid status gets its own value rather than posing as 0. */
function statusOf(status: number): number {
  return Number.isInteger(status) && status >= 0 && status < 1000 ? status : 1000;
}

/** Attempts 1 to 5, and 6+ (as the client history's slots): libraries stop after 2 (got, ky, AWS), 3 (axios-retry) or 5 (undici) retries. */
const MAX_ATTEMPT = 6;

function attemptOf(attempt: number | undefined): number {
  return isNumber(attempt) ? Math.min(MAX_ATTEMPT, Math.max(1, Math.floor(attempt))) : 0;
}

/**
 * log-odds of the client's rate, smoothed by half a retry (labels n, retries r = rate x (n + 1),
 * as telemetry/client-profile.ts smooths it), clamped to +-LOG_ODDS_SCALE and scaled to [-1, 1].
 */
function clientRetryLogOdds(input: FeatureInput): number {
  const labels = Math.max(0, input.clientLabelCount!);
  const retried = Math.min(1, Math.max(0, input.clientRetryRate!)) * (labels + 1);
  const p = (retried + 0.5) / (labels + 1.5);
  const logOdds = Math.log(p / (1 - p));
  return Math.max(-LOG_ODDS_SCALE, Math.min(LOG_ODDS_SCALE, logOdds)) / LOG_ODDS_SCALE;
}

/**
 * The client's own retry rate means little on few labels: 0 without labels, else
 * 10 * confidence (1: 1-4 labels, 2: 5+) + the rate's bucket.
 */
function clientRetryBucketOf(input: FeatureInput): number {
  const labels = input.clientLabelCount;
  const rate = input.clientRetryRate;
  if (!isNumber(labels) || labels < 1 || !isNumber(rate)) return 0;
  return (labels < 5 ? 10 : 20) + bucketOf(rate, CLIENT_RETRY_RATE);
}

/**
 * Writes the features of `input` into `out` (overwriting it). hashBits must be an integer in
 * [1, 31]. Missing or non-finite optional fields contribute nothing; nothing is NaN.
 */
export function extractFeatures(input: FeatureInput, hashBits: number, out: FeatureVector): void {
  const mask = hashBits >= 31 ? 0x7fffffff : (1 << hashBits) - 1;
  out.count = 0;
  // split in three so that each part stays small enough for V8 to inline its helpers
  const status = statusOf(input.status);
  const clientRetryBucket = clientRetryBucketOf(input);
  responseFeatures(input, status, mask, out);
  contextFeatures(input, clientRetryBucket, mask, out);
  crossFeatures(input, status, clientRetryBucket, mask, out);
}

function responseFeatures(input: FeatureInput, status: number, mask: number, out: FeatureVector): void {
  push(out, BIAS, 1, mask);
  push(out, fnvMixInt(STATUS, status), 1, mask);
  push(out, fnvMixInt(STATUS_CLASS, (status / 100) | 0), 1, mask);
  if (input.errorKind !== undefined) push(out, fnvMix(ERROR_KIND, input.errorKind), 1, mask);
  const latencyMs = input.latencyMs;
  if (isNumber(latencyMs)) {
    const ms = Math.max(0, latencyMs);
    push(out, LOG_LATENCY, Math.log1p(ms) / LOG_LATENCY_SCALE, mask);
    push(out, fnvMixInt(LATENCY_BUCKET, bucketOf(ms, LATENCY_MS)), 1, mask);
  }
  // log1p(bytes), integer part, capped: 0 = empty, 1 = 1-6 B, ... 7 = ~1-3 KB, 14 = ~1-3 MB
  if (isNumber(input.bytesOut)) push(out, fnvMixInt(BYTES_OUT_BUCKET, bucketOf(input.bytesOut, BYTES_BOUNDS)), 1, mask);
  if (isNumber(input.bytesIn)) push(out, fnvMixInt(BYTES_IN_BUCKET, bucketOf(input.bytesIn, BYTES_BOUNDS)), 1, mask);
  // undefined means "no Retry-After was sent", which is itself informative
  const retryAfterSec = input.retryAfterSec;
  if (isNumber(retryAfterSec)) {
    push(out, fnvMixInt(HAS_RETRY_AFTER, 1), 1, mask);
    push(out, fnvMixInt(RETRY_AFTER_BUCKET, bucketOf(retryAfterSec, RETRY_AFTER_SEC)), 1, mask);
  } else {
    push(out, fnvMixInt(HAS_RETRY_AFTER, 0), 1, mask);
  }
}

function contextFeatures(input: FeatureInput, clientRetryBucket: number, mask: number, out: FeatureVector): void {
  const attempt = attemptOf(input.attempt);
  if (attempt > 0) push(out, fnvMixInt(ATTEMPT, attempt), 1, mask);
  if (input.method !== undefined) push(out, fnvMix(METHOD, input.method), 1, mask);
  if (input.route !== undefined) push(out, fnvMix(ROUTE, input.route), 1, mask);
  if (input.userAgentFamily !== undefined) push(out, fnvMix(USER_AGENT_FAMILY, input.userAgentFamily), 1, mask);
  // the client's own rate as log-odds, one coordinate per confidence level: a weight near
  // LOG_ODDS_SCALE turns it into the client's own calibrated rate, which a linear weight on the
  // rate itself cannot (0.1 and 0.75 are 1.2 apart in rate, 3 in log-odds)
  if (clientRetryBucket > 0) push(out, fnvMixInt(CLIENT_RETRY_RATE_BY_LABELS, (clientRetryBucket / 10) | 0), clientRetryLogOdds(input), mask);
  push(out, fnvMixInt(CLIENT_RETRY_BUCKET, clientRetryBucket), 1, mask);
  if (input.backend !== undefined) push(out, fnvMix(BACKEND, input.backend), 1, mask);
  const { backendLatencyEwmaMs, backendErrorEwma, backendInFlight } = input;
  if (isNumber(backendLatencyEwmaMs)) push(out, fnvMixInt(BACKEND_LATENCY_BUCKET, bucketOf(backendLatencyEwmaMs, LATENCY_MS)), 1, mask);
  if (isNumber(backendErrorEwma)) push(out, fnvMixInt(BACKEND_ERROR_BUCKET, bucketOf(backendErrorEwma, ERROR_EWMA)), 1, mask);
  if (isNumber(backendInFlight)) push(out, fnvMixInt(BACKEND_IN_FLIGHT_BUCKET, bucketOf(backendInFlight, IN_FLIGHT)), 1, mask);
}

/**
 * A cross mixes its parts into the template's state as numbers: integers as themselves, strings
 * by their bare FNV hash (computed once, shared by the crosses that need it). Multiplying by the
 * odd FNV prime is a bijection, so two different parts never map to the same state for the same
 * other part, and fmix32 spreads the result.
 */
function cross(template: number, first: number, second: number): number {
  return Math.imul(template ^ first, FNV_PRIME) ^ second;
}

function crossFeatures(input: FeatureInput, status: number, clientRetryBucket: number, mask: number, out: FeatureVector): void {
  const { errorKind, method, userAgentFamily } = input;
  const statusClass = (status / 100) | 0;
  const attempt = attemptOf(input.attempt);
  if (attempt > 0) push(out, cross(STATUS_X_ATTEMPT, status, attempt), 1, mask);
  push(out, cross(STATUS_CLASS_X_CLIENT_RETRY_BUCKET, statusClass, clientRetryBucket), 1, mask);
  // a client that retries stops after its own limit (got and ky at 2 retries, the AWS SDKs at 2-3)
  if (attempt > 0) push(out, cross(ATTEMPT_X_CLIENT_RETRY_BUCKET, attempt, clientRetryBucket), 1, mask);
  if (method !== undefined) push(out, cross(METHOD_X_STATUS_CLASS, fnvMix(FNV_OFFSET, method), statusClass), 1, mask);
  if (userAgentFamily === undefined) return;
  const agent = fnvMix(FNV_OFFSET, userAgentFamily);
  push(out, cross(STATUS_X_USER_AGENT_FAMILY, status, agent), 1, mask);
  // where a library stops retrying, learned from all its clients at once
  if (attempt > 0) push(out, cross(ATTEMPT_X_USER_AGENT_FAMILY, attempt, agent), 1, mask);
  // which methods a library retries (got, ky and axios-retry never a POST; the AWS SDKs every call)
  if (method !== undefined) push(out, cross(METHOD_X_USER_AGENT_FAMILY, fnvMix(FNV_OFFSET, method), agent), 1, mask);
  if (errorKind !== undefined) push(out, cross(ERROR_KIND_X_USER_AGENT_FAMILY, fnvMix(FNV_OFFSET, errorKind), agent), 1, mask);
}
