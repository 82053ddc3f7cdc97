// A/B experiments on the data path: requests routed to an experiment's pool get a sticky variant
// (traffic/experiment.ts) and are served by its pool; the answer is tallied per variant. Tallies
// survive reloads that keep the pool, key and variants, and restarts through [traffic] state_file
// (saved on the metrics interval and at shutdown).
import type { IncomingMessage } from 'node:http';
import type { ExperimentConfig } from '../config/schema.ts';
import { ErrorKind, type Outcome } from '../core/outcome.ts';
import { assignmentPoint, experimentReport, variantIndex, VariantTally, type ExperimentReport, type ExperimentSpec } from '../traffic/experiment.ts';
import { parseCookies } from '../traffic/router.ts';
import type { RuntimeDeps } from './deps.ts';
import type { StateStore } from './state-file.ts';

const SECTION = 'experiments';

/** A variant as the data path holds it: where to go, and where to count the answer. */
export class VariantAssignment {
  readonly pool: string;
  readonly tally = new VariantTally();
  readonly #success: { inc(): void };
  readonly #failure: { inc(): void };

  constructor(pool: string, success: { inc(): void }, failure: { inc(): void }) {
    this.pool = pool;
    this.#success = success;
    this.#failure = failure;
  }

  record(outcome: Outcome): void {
    if (outcome.errorKind === ErrorKind.aborted) return;
    const isSuccess = outcome.status < 500 && outcome.errorKind === ErrorKind.none;
    this.tally.record(isSuccess, outcome.latencyMs);
    (isSuccess ? this.#success : this.#failure).inc();
  }
}

interface LiveExperiment {
  readonly spec: ExperimentSpec;
  readonly signature: string;
  readonly variants: readonly VariantAssignment[];
  readonly keyOf: (req: IncomingMessage, clientIp: string) => string | undefined;
}

function keyReader(key: string): LiveExperiment['keyOf'] {
  if (key === 'client_ip') return (_req, ip) => ip;
  if (key.startsWith('header:')) {
    const name = key.slice('header:'.length);
    return (req) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
  }
  const cookie = key.slice('cookie:'.length);
  return (req) => (req.headers.cookie === undefined ? undefined : parseCookies(req.headers.cookie).get(cookie));
}

export function experimentSpecOf(c: ExperimentConfig): ExperimentSpec {
  return { name: c.name, pool: c.pool, key: c.key, variants: c.variants, alpha: c.alpha, power: c.power, minDetectableEffect: c.minDetectableEffect };
}

export class ExperimentController {
  readonly #deps: RuntimeDeps;
  readonly #store: StateStore;
  readonly #experiments = new Map<string, LiveExperiment>();
  /** entry pool -> experiment; replaced whole on configure. */
  #byPool: ReadonlyMap<string, LiveExperiment> = new Map();
  /** Requests tallied when the state was last saved: nothing new, nothing written. */
  #savedTrials = -1;

  constructor(deps: RuntimeDeps, store: StateStore) {
    this.#deps = deps;
    this.#store = store;
  }

  /** An experiment keeps its tallies across a reload when its pool, key and variants are unchanged. */
  configure(configs: readonly ExperimentConfig[]): void {
    const next = new Map<string, LiveExperiment>();
    for (const c of configs) {
      const spec = experimentSpecOf(c);
      const signature = JSON.stringify([spec.pool, spec.key, spec.variants]);
      const live = this.#experiments.get(spec.name);
      next.set(spec.name, live !== undefined && live.signature === signature ? { ...live, spec } : this.#restore(this.#create(spec, signature)));
    }
    this.#experiments.clear();
    for (const [name, live] of next) this.#experiments.set(name, live);
    this.#byPool = new Map([...next.values()].map((e) => [e.spec.pool, e]));
  }

  /** The tallies saved for this experiment, when its pool, key and variants are the same. */
  #restore(live: LiveExperiment): LiveExperiment {
    const saved = ((this.#store.read(SECTION) ?? {}) as Record<string, { signature?: unknown; variants?: unknown }>)[live.spec.name];
    if (saved?.signature !== live.signature || !Array.isArray(saved.variants) || saved.variants.length !== live.variants.length) return live;
    // all or nothing: a half-restored experiment would compare apples with pears
    const fresh = live.variants.map(() => new VariantTally());
    if (!fresh.every((t, i) => t.restore((saved.variants as unknown[])[i]))) return live;
    live.variants.forEach((v, i) => v.tally.restore((saved.variants as unknown[])[i]));
    this.#deps.logger.info({ experiment: live.spec.name, requests: live.variants.map((v) => v.tally.trials) }, 'experiment tallies restored from the state file');
    return live;
  }

  /** Writes the tallies to the state store when anything was tallied since the last write. */
  save(): void {
    let trials = 0;
    for (const e of this.#experiments.values()) for (const v of e.variants) trials += v.tally.trials;
    if (trials === this.#savedTrials) return;
    this.#savedTrials = trials;
    this.#store.write(SECTION, Object.fromEntries([...this.#experiments.values()].map((e) => [e.spec.name, { signature: e.signature, variants: e.variants.map((v) => v.tally.toJSON()) }])));
  }

  #create(spec: ExperimentSpec, signature: string): LiveExperiment {
    const m = this.#deps.metrics.experimentRequests;
    const variants = spec.variants.map((v) => new VariantAssignment(v.pool, m.labels({ experiment: spec.name, variant: v.name, outcome: 'success' }), m.labels({ experiment: spec.name, variant: v.name, outcome: 'failure' })));
    return { spec, signature, variants, keyOf: keyReader(spec.key) };
  }

  /** The variant of a request routed to `pool`; undefined when no experiment runs there or the key is absent. */
  assign(pool: string, req: IncomingMessage, clientIp: string): VariantAssignment | undefined {
    const experiment = this.#byPool.get(pool);
    if (experiment === undefined) return undefined;
    const key = experiment.keyOf(req, clientIp);
    if (key === undefined || key === '') return undefined;
    return experiment.variants[variantIndex(experiment.spec.variants, assignmentPoint(experiment.spec.name, key))];
  }

  reports(): ExperimentReport[] {
    return [...this.#experiments.values()].map((e) => experimentReport(e.spec, e.variants.map((v) => v.tally)));
  }

  find(name: string): ExperimentReport | undefined {
    const e = this.#experiments.get(name);
    return e === undefined ? undefined : experimentReport(e.spec, e.variants.map((v) => v.tally));
  }

  /** Starts the tallies afresh (POST /api/experiments/<name>/reset); false when unknown. */
  reset(name: string): boolean {
    const e = this.#experiments.get(name);
    if (e === undefined) return false;
    const fresh = this.#create(e.spec, e.signature);
    this.#experiments.set(name, fresh);
    this.#byPool = new Map([...this.#experiments.values()].map((x) => [x.spec.pool, x]));
    this.#savedTrials = -1;
    this.save();
    this.#deps.logger.info({ experiment: name }, 'experiment tallies reset by operator');
    return true;
  }
}
