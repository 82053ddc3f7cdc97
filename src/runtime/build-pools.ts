// Builds a generation's pools from the config: the top-level [[backends]] as the pool "default",
// then each [[pools]] with its own strategy and health settings, and the router over them.
import { createBalancer } from '../balancer/create-balancer.ts';
import type { Rng } from '../core/rng.ts';
import type { BackendConfig, Config, HealthConfig, StrategyConfig } from '../config/schema.ts';
import { DEFAULT_POOL } from '../config/schema-traffic.ts';
import { createFlag, type Flag } from '../traffic/flags.ts';
import { createRouter, type Router } from '../traffic/router.ts';
import type { Backend } from './backend.ts';
import { Pool } from './pool.ts';
import type { PoolHealth } from './pool-health.ts';

export interface PoolSpec {
  readonly name: string;
  readonly backends: readonly BackendConfig[];
  readonly strategy: StrategyConfig;
  readonly health: HealthConfig;
}

/** Every pool of the config, the default first. */
export function poolSpecsOf(config: Config): PoolSpec[] {
  const specs: PoolSpec[] = [];
  // with discovery the default pool exists even while it has found nothing yet
  if (config.backends.length > 0 || config.discovery.kind !== 'static') specs.push({ name: DEFAULT_POOL, backends: config.backends, strategy: config.strategy, health: config.health });
  for (const p of config.pools) specs.push({ name: p.name, backends: p.backends, strategy: p.strategy ?? config.strategy, health: p.health ?? config.health });
  return specs;
}

export interface BuiltPools {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly defaultPool: Pool;
  readonly router: Router;
  /** Flags that switch one of Sibyl's own features, by feature. */
  readonly features: ReadonlyMap<string, Flag>;
}

/** `backends` are the live Backend objects of every pool, by name; `health` is configured here. */
export function buildPools(config: Config, backends: ReadonlyMap<string, Backend>, health: PoolHealth, rng: Rng): BuiltPools {
  const specs = poolSpecsOf(config);
  const members = specs.map((spec) => spec.backends.map((b) => backends.get(b.name)).filter((b): b is Backend => b !== undefined));
  health.configure(specs.map((spec, i) => ({ name: spec.name, config: { ...config, health: spec.health }, backends: members[i] ?? [] })));
  const pools = new Map<string, Pool>();
  specs.forEach((spec, i) => {
    for (const b of members[i] ?? []) {
      b.poolName = spec.name;
      b.ewmaHalfLifeMs = spec.strategy.ewmaHalfLife;
    }
    const hashKey = spec.strategy.hashKey;
    pools.set(
      spec.name,
      new Pool({
        name: spec.name,
        backends: members[i] ?? [],
        balancer: createBalancer(spec.strategy.algorithm, { rng }, { errorPenalty: spec.strategy.errorPenalty }),
        computeEligible: (list) => health.selectEligible(spec.name, list),
        needsHashKey: spec.strategy.algorithm === 'ip_hash',
        hashHeader: hashKey.startsWith('header:') ? hashKey.slice('header:'.length).toLowerCase() : undefined,
      }),
    );
  });
  // the schema guarantees a default pool
  const defaultPool = pools.get(DEFAULT_POOL) ?? [...pools.values()][0];
  if (defaultPool === undefined) throw new Error('a config without pools passed validation');
  const flags = config.flags.map(createFlag);
  const features = new Map(flags.filter((f) => f.feature !== undefined).map((f) => [f.feature as string, f]));
  return { pools, defaultPool, router: createRouter(config.routes, DEFAULT_POOL, new Map(flags.map((f) => [f.name, f]))), features };
}
