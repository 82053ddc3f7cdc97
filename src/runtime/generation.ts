// One generation per valid config: the pools (backends and strategy each), the routes, and the
// data-path settings. A reload builds a new generation aside and swaps one reference; requests keep
// the one they started on.
import type { Flag } from '../traffic/flags.ts';
import type { Router } from '../traffic/router.ts';
import type { Backend } from './backend.ts';
import type { EligibleSet, Pool } from './pool.ts';
import type { ProxySettings } from './settings.ts';

export type { EligibleSet } from './pool.ts';

export class Generation {
  readonly id: number;
  readonly settings: ProxySettings;
  /** Every backend of every pool. */
  readonly backends: readonly Backend[];
  readonly pools: ReadonlyMap<string, Pool>;
  /** The pool of the top-level [[backends]] (or the pool named "default"): unmatched requests go there. */
  readonly defaultPool: Pool;
  readonly router: Router;
  /** Flags that switch one of Sibyl's own features ([[flags]] feature), by feature. */
  readonly features: ReadonlyMap<string, Flag>;

  constructor(id: number, settings: ProxySettings, pools: ReadonlyMap<string, Pool>, defaultPool: Pool, router: Router, features: ReadonlyMap<string, Flag> = new Map()) {
    this.id = id;
    this.settings = settings;
    this.pools = pools;
    this.defaultPool = defaultPool;
    this.router = router;
    this.features = features;
    this.backends = [...pools.values()].flatMap((p) => p.backends);
  }

  /** Called when health, ejection, drain or weights change: the next pick recomputes the sets. */
  invalidate(): void {
    for (const pool of this.pools.values()) pool.invalidate();
  }

  /** The default pool's eligible set (what the health endpoints report). */
  get eligibleSet(): EligibleSet {
    return this.defaultPool.eligibleSet;
  }

  pool(name: string): Pool | undefined {
    return this.pools.get(name);
  }

  findBackend(name: string): Backend | undefined {
    return this.backends.find((b) => b.id === name);
  }
}
