// The retry model's snapshot: a versioned JSON document with the FTRL state of every touched
// coordinate, the feature spec it was trained with, its training window and its quality.
import type { FtrlParams } from './ftrl.ts';

export const SNAPSHOT_FORMAT = 'sibyl-retry-model';
export const SNAPSHOT_FORMAT_VERSION = 1;
/** 2^24 coordinates x 3 doubles is 400 MB: beyond that a hashed model is the wrong tool. */
export const MIN_HASH_BITS = 8;
export const MAX_HASH_BITS = 24;

export interface TrainingWindow {
  /** Epoch ms of the first and last event learned, and how many were learned. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly events: number;
}

export interface ModelSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly formatVersion: typeof SNAPSHOT_FORMAT_VERSION;
  /** `m-<updates>-<hash8>`: the same training stream from the same start gives the same version. */
  readonly version: string;
  readonly createdAtIso: string;
  readonly featureSpecVersion: number;
  readonly featureSpecHash: string;
  readonly hashBits: number;
  /** How many examples the model has learned, over its whole lineage. */
  readonly updates: number;
  readonly params: FtrlParams;
  /** [index, z, n] of every coordinate with n > 0. */
  readonly coordinates: ReadonlyArray<readonly [number, number, number]>;
  readonly trainingWindow: TrainingWindow;
  readonly quality?: Readonly<Record<string, unknown>>;
  /** Set when this model is a candidate that was promoted: which file and version it started as. */
  readonly promotedCandidate?: PromotedCandidate;
}

export interface PromotedCandidate {
  readonly path: string;
  readonly version: string;
}

export const ModelSnapshotErrorCode = {
  invalid: 'SIBYL_ERR_MODEL_SNAPSHOT_INVALID',
  mismatch: 'SIBYL_ERR_MODEL_SNAPSHOT_MISMATCH',
} as const;
export type ModelSnapshotErrorCode = (typeof ModelSnapshotErrorCode)[keyof typeof ModelSnapshotErrorCode];

export class ModelSnapshotError extends Error {
  readonly code: ModelSnapshotErrorCode;
  constructor(code: ModelSnapshotErrorCode, message: string) {
    super(message);
    this.name = 'ModelSnapshotError';
    this.code = code;
  }
}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Checks that the FTRL hyper-parameters are usable; returns the problems found, by key. */
export function ftrlParamIssues(params: Json, path: string): string[] {
  const issues: string[] = [];
  for (const key of ['alpha', 'beta', 'l1', 'l2'] as const) {
    const v = params[key];
    const isValid = typeof v === 'number' && Number.isFinite(v) && (key === 'alpha' ? v > 0 : v >= 0);
    if (!isValid) issues.push(`${path}.${key} must be a finite number ${key === 'alpha' ? '> 0' : '>= 0'}, got ${JSON.stringify(v)}`);
  }
  return issues;
}

function coordinateIssue(coordinates: unknown[], hashBits: number): string | undefined {
  const size = 2 ** hashBits;
  for (let k = 0; k < coordinates.length; k++) {
    const c = coordinates[k];
    if (!Array.isArray(c) || c.length !== 3) return `coordinates[${k}] must be [index, z, n]`;
    const [index, z, n] = c as unknown[];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size) {
      return `coordinates[${k}][0] must be an integer index in [0, 2^${hashBits}), got ${JSON.stringify(index)}`;
    }
    if (typeof z !== 'number' || !Number.isFinite(z)) return `coordinates[${k}][1] (z) must be a finite number`;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return `coordinates[${k}][2] (n) must be a finite number > 0`;
  }
  return undefined;
}

/** Validates an untrusted JSON value as a ModelSnapshot; every problem found is in the message. */
export function parseModelSnapshot(json: unknown): ModelSnapshot {
  const fail = (issues: string[]): never => {
    throw new ModelSnapshotError(ModelSnapshotErrorCode.invalid, `invalid retry model snapshot:\n  - ${issues.join('\n  - ')}`);
  };
  if (!isObject(json)) return fail(['expected a JSON object']);
  if (json.format !== SNAPSHOT_FORMAT) return fail([`format must be "${SNAPSHOT_FORMAT}", got ${JSON.stringify(json.format)}: this is not a retry model snapshot`]);
  if (json.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    return fail([`formatVersion ${JSON.stringify(json.formatVersion)} is not supported by this build (it reads ${SNAPSHOT_FORMAT_VERSION}); retrain with \`sibyl train\``]);
  }
  const issues: string[] = [];
  const str = (key: string): void => {
    if (typeof json[key] !== 'string' || json[key] === '') issues.push(`${key} must be a non-empty string`);
  };
  const count = (obj: Json, key: string, path: string): void => {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) issues.push(`${path} must be a non-negative integer, got ${JSON.stringify(v)}`);
  };
  str('version');
  str('createdAtIso');
  str('featureSpecHash');
  count(json, 'featureSpecVersion', 'featureSpecVersion');
  count(json, 'updates', 'updates');
  const hashBits = json.hashBits;
  const hasValidHashBits = typeof hashBits === 'number' && Number.isInteger(hashBits) && hashBits >= MIN_HASH_BITS && hashBits <= MAX_HASH_BITS;
  if (!hasValidHashBits) issues.push(`hashBits must be an integer in [${MIN_HASH_BITS}, ${MAX_HASH_BITS}], got ${JSON.stringify(hashBits)}`);
  if (isObject(json.params)) issues.push(...ftrlParamIssues(json.params, 'params'));
  else issues.push('params must be an object {alpha, beta, l1, l2}');
  if (!Array.isArray(json.coordinates)) issues.push('coordinates must be an array of [index, z, n]');
  else if (hasValidHashBits) {
    const issue = coordinateIssue(json.coordinates, hashBits);
    if (issue !== undefined) issues.push(issue);
  }
  const window = json.trainingWindow;
  if (isObject(window)) {
    for (const key of ['fromMs', 'toMs'] as const) {
      if (typeof window[key] !== 'number' || !Number.isFinite(window[key])) issues.push(`trainingWindow.${key} must be a finite number`);
    }
    count(window, 'events', 'trainingWindow.events');
  } else {
    issues.push('trainingWindow must be an object {fromMs, toMs, events}');
  }
  if (json.quality !== undefined && !isObject(json.quality)) issues.push('quality must be an object when present');
  const promoted = json.promotedCandidate;
  if (promoted !== undefined && (!isObject(promoted) || typeof promoted.path !== 'string' || typeof promoted.version !== 'string')) issues.push('promotedCandidate must be an object {path, version} when present');
  if (issues.length > 0) fail(issues);
  return json as unknown as ModelSnapshot;
}
