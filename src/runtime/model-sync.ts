// The retry model shared across instances: on [shared] model_sync_interval, learn what is queued,
// send what was learned here since the last merge to the shared store, and take back the global
// model (model/model-merge.ts says why changes are added, not weights averaged). Off the data path:
// predictions keep using the local model, which the merge updates in place.
import { SerialTimer } from './serial-timer.ts';
import { featureSpecHash } from '../model/features.ts';
import { ModelMerge } from '../model/model-merge.ts';
import type { SharedState } from '../shared/shared-state.ts';
import { hash64Hex } from '../telemetry/key-hash.ts';
import type { RuntimeDeps } from './deps.ts';
import type { RetryIntelligence } from './retry-intelligence.ts';

export interface ModelSyncOptions {
  readonly intervalMs: number;
  readonly keyPrefix: string;
  /** `redis`: across instances; `workers`: across the workers of one `serve --workers N`. */
  readonly store: 'redis' | 'workers';
}

export class ModelSync {
  readonly #retry: RetryIntelligence;
  readonly #store: SharedState;
  readonly #options: ModelSyncOptions;
  readonly #deps: RuntimeDeps;
  readonly #merge: ModelMerge;
  /** Instances only merge models with the same features and FTRL parameters. */
  readonly #key: string;
  readonly #timer: SerialTimer;
  #isFailing = false;

  constructor(retry: RetryIntelligence, store: SharedState, options: ModelSyncOptions, deps: RuntimeDeps) {
    this.#retry = retry;
    this.#store = store;
    this.#options = options;
    this.#deps = deps;
    this.#timer = new SerialTimer(deps.clock, options.intervalMs, () => this.syncOnce());
    this.#merge = new ModelMerge(retry.model);
    const m = retry.model;
    this.#key = `${options.keyPrefix}model:${hash64Hex(`${featureSpecHash(m.hashBits)}|${JSON.stringify(m.params)}`)}`;
  }

  start(): void {
    this.#timer.start();
  }

  stop(): Promise<void> {
    return this.#timer.stop();
  }

  /** One merge with the global model. Never throws. */
  async syncOnce(): Promise<void> {
    const { metrics, logger } = this.#deps;
    this.#retry.learnNow();
    try {
      let global = await this.#store.pushModel({ key: this.#key, mode: 'changes', coordinates: this.#merge.takeChanges() });
      if (global === undefined) global = await this.#store.pushModel({ key: this.#key, mode: 'init', coordinates: this.#merge.everything() });
      if (global === undefined) throw new Error('the shared store did not keep the model it was given');
      this.#merge.applyGlobal(global);
      metrics.sharedSyncs.inc({ kind: 'model', store: this.#options.store, result: 'ok' });
      if (this.#isFailing) logger.info({ modelVersion: this.#retry.model.version }, 'retry model merges with the global model again');
      this.#isFailing = false;
    } catch (err) {
      this.#merge.keepChanges();
      metrics.sharedSyncs.inc({ kind: 'model', store: this.#options.store, result: 'error' });
      if (!this.#isFailing) logger.warn({ err: (err as Error).message }, 'retry model merge failed: this instance learns alone until the shared store answers');
      this.#isFailing = true;
    }
  }
}
