// Which model a process starts with: the snapshot at [model] path when it exists (the model keeps
// learning where it stopped), else the shipped prior (cold start), else an untrained model.
// A snapshot that does not match this build's features is refused: starting is better than
// silently reading weights learned for other features, so the error names the fix.
import { access } from 'node:fs/promises';
import type { Config } from '../config/schema.ts';
import { createRetryModel, type RetryModel } from '../model/retry-model.ts';
import type { PromotedCandidate } from '../model/model-snapshot.ts';
import { readSnapshotFile, SHIPPED_PRIOR_PATH } from '../model/model-store.ts';

export interface LoadedModel {
  readonly model: RetryModel;
  readonly source: 'snapshot' | 'prior' | 'untrained';
  readonly path: string | undefined;
  /** The snapshot is a promoted candidate: this file and version (model-candidate.ts). */
  readonly promotedCandidate?: PromotedCandidate;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function loadInitialModel(config: Config): Promise<LoadedModel> {
  const m = config.model;
  const options = { hashBits: m.hashBits, alpha: m.alpha, beta: m.beta, l1: m.l1, l2: m.l2 };
  if (m.path !== undefined && (await exists(m.path))) {
    // errors propagate: a configured snapshot that cannot be used must stop the start, loudly
    const snapshot = await readSnapshotFile(m.path);
    return { model: createRetryModel(options, snapshot), source: 'snapshot', path: m.path, promotedCandidate: snapshot.promotedCandidate };
  }
  if (await exists(SHIPPED_PRIOR_PATH)) {
    const prior = await readSnapshotFile(SHIPPED_PRIOR_PATH);
    if (prior.hashBits === m.hashBits) return { model: createRetryModel(options, prior), source: 'prior', path: SHIPPED_PRIOR_PATH };
  }
  return { model: createRetryModel(options), source: 'untrained', path: undefined };
}

/** The candidate of [model_rollout] candidate_path; undefined when none is configured. Errors propagate. */
export async function loadCandidateModel(config: Config): Promise<RetryModel | undefined> {
  const path = config.modelRollout.candidatePath;
  if (path === undefined) return undefined;
  const m = config.model;
  return createRetryModel({ hashBits: m.hashBits, alpha: m.alpha, beta: m.beta, l1: m.l1, l2: m.l2 }, await readSnapshotFile(path));
}
