// route -> split on the data path: the router's choice, then blue-green (both sides' traffic goes
// to the active side), then an experiment's sticky variant, then the live rollouts' diversions (a
// share of a stable pool's requests goes to its canary). A switch, a reload or a rollout transition
// swaps one map: the change is atomic for new requests.
import type { IncomingMessage } from 'node:http';
import type { Rng } from '../core/rng.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import { parseCookies } from '../traffic/router.ts';
import type { ExperimentController, VariantAssignment } from './experiment-controller.ts';
import type { Generation } from './generation.ts';
import type { Pool } from './pool.ts';

/** While a rollout runs: `share` (0..1) of the stable pool's requests go to `canary`. */
export interface Diversion {
  readonly canary: string;
  readonly share: number;
}

export interface TrafficChoice {
  readonly pool: Pool;
  /** The experiment variant the request was assigned to, whose tally the answer feeds. */
  readonly variant: VariantAssignment | undefined;
}

export class TrafficControl {
  readonly #metrics: Metrics;
  readonly #rng: Rng;
  /** stable pool -> diversion; replaced whole, never mutated, so a request reads one consistent view. */
  #diversions: ReadonlyMap<string, Diversion> = new Map();
  /** pool -> the pool that serves it (blue-green); replaced whole. */
  #redirects: ReadonlyMap<string, string> = new Map();
  readonly #counts = new Map<string, Map<string, { counted: number; published: number }>>();
  readonly #experiments: ExperimentController;
  /** The answer for a pool without a variant, built once per pool: choosing allocates nothing. */
  readonly #plain = new WeakMap<Pool, TrafficChoice>();

  constructor(metrics: Metrics, rng: Rng, experiments: ExperimentController) {
    this.#metrics = metrics;
    this.#rng = rng;
    this.#experiments = experiments;
  }

  setDiversions(diversions: ReadonlyMap<string, Diversion>): void {
    this.#diversions = diversions;
  }

  setRedirects(redirects: ReadonlyMap<string, string>): void {
    this.#redirects = redirects;
  }

  get diversions(): ReadonlyMap<string, Diversion> {
    return this.#diversions;
  }

  /** route -> split: routes, then blue-green, then an experiment's variant, then a rollout's canary share. */
  choose(generation: Generation, req: IncomingMessage, clientIp: string): TrafficChoice {
    const router = generation.router;
    // without routes (most configs) nothing is built for the router to read
    const choice = router.routeNames.length === 0 ? router.fallback : router.choose({ method: req.method ?? 'GET', host: req.headers.host ?? '', url: req.url ?? '/', headers: req.headers, clientIp }, this.#rng.next());
    let name = this.#redirects.get(choice.pool) ?? choice.pool;
    const variant = this.#experiments.assign(name, req, clientIp);
    if (variant !== undefined) name = variant.pool;
    const diversion = this.#diversions.get(name);
    // an independent draw: reusing the split's would tie the canary share to the split's leg
    if (diversion !== undefined && diversion.share > 0 && (diversion.share >= 1 || this.#rng.next() < diversion.share)) {
      // a canary without an eligible backend gets nothing: its clients would only see 503s, and its
      // analysis stays inconclusive (no samples), so it is never promoted
      if (generation.pool(diversion.canary)?.eligibleSet.eligible.length !== 0) name = diversion.canary;
    }
    const pool = generation.pool(name) ?? generation.defaultPool;
    this.#count(choice.route, pool.name);
    if (variant !== undefined) return { pool, variant };
    let plain = this.#plain.get(pool);
    if (plain === undefined) this.#plain.set(pool, (plain = { pool, variant: undefined }));
    return plain;
  }

  /** Whether one of Sibyl's own features is on for this request: always, unless a flag switches it. */
  isFeatureOn(generation: Generation, feature: string, req: IncomingMessage, clientIp: string): boolean {
    const flag = generation.features.get(feature);
    if (flag === undefined) return true;
    let cookies: Map<string, string> | undefined;
    return flag.isOn({ headers: req.headers, clientIp }, () => (cookies ??= parseCookies(req.headers.cookie)));
  }

  /**
   * Plain integers on the data path; the Prometheus counter is brought up to date by publish() (on
   * the [metrics] interval and before a scrape): prom-client hashes the labels on every inc().
   */
  #count(route: string, pool: string): void {
    let byPool = this.#counts.get(route);
    if (byPool === undefined) this.#counts.set(route, (byPool = new Map()));
    const tally = byPool.get(pool);
    if (tally === undefined) byPool.set(pool, { counted: 1, published: 0 });
    else tally.counted++;
  }

  publish(): void {
    for (const [route, byPool] of this.#counts) {
      for (const [pool, tally] of byPool) {
        if (tally.counted === tally.published) continue;
        this.#metrics.routedRequests.inc({ route, pool }, tally.counted - tally.published);
        tally.published = tally.counted;
      }
    }
  }
}
