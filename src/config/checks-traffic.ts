// Cross-section checks of progressive delivery: every pool a route, split or rollout names exists,
// pool and backend names are unique across pools, and there is a default pool.
import type * as z from 'zod';
import { DEFAULT_POOL } from './schema-traffic.ts';

interface TrafficInput {
  readonly backends: readonly { readonly name: string }[];
  /** With file or DNS discovery the default pool's backends are discovered, not listed. */
  readonly discovery: { readonly kind: string };
  readonly pools: readonly { readonly name: string; readonly backends: readonly { readonly name: string }[] }[];
  readonly routes: readonly { readonly pool?: string | undefined; readonly flag?: string | undefined; readonly split?: readonly { readonly pool: string }[] | undefined }[];
  readonly flags: readonly { readonly name: string; readonly feature?: string | undefined }[];
  readonly rollouts: readonly { readonly name: string; readonly stable: string; readonly canary: string }[];
  readonly blueGreen: readonly { readonly name: string; readonly blue: string; readonly green: string }[];
  readonly experiments: readonly { readonly name: string; readonly pool: string; readonly variants: readonly { readonly pool: string }[] }[];
  readonly shadows: readonly { readonly name: string; readonly pool: string; readonly shadowPool: string }[];
}

const NO_BACKEND = 'at least one backend is required: add a [[backends]] table, set SIBYL_BACKEND_ADDRESSES, or use [discovery]';

function checkPools(c: TrafficInput, ctx: z.core.$RefinementCtx): Set<string> {
  const names = new Set<string>();
  const hasDefault = c.backends.length > 0 || c.discovery.kind !== 'static';
  if (hasDefault) names.add(DEFAULT_POOL);
  const backendOwner = new Map<string, string>(c.backends.map((b) => [b.name, 'backends']));
  c.pools.forEach((pool, i) => {
    if (pool.name === DEFAULT_POOL && hasDefault) {
      ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: 'the pool "default" is the top-level [[backends]] (or what [discovery] finds); name this pool otherwise, or move those backends here' });
    } else if (names.has(pool.name)) {
      ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `duplicate pool name ${JSON.stringify(pool.name)}` });
    }
    names.add(pool.name);
    pool.backends.forEach((b, j) => {
      const owner = backendOwner.get(b.name);
      if (owner !== undefined) ctx.addIssue({ code: 'custom', path: ['pools', i, 'backends', j, 'name'], message: `backend name ${JSON.stringify(b.name)} is already used in ${owner}; backend names are unique across pools` });
      else backendOwner.set(b.name, `pools[${i}]`);
    });
  });
  if (!names.has(DEFAULT_POOL)) {
    const message = c.pools.length === 0 ? NO_BACKEND : 'no default pool: add [[backends]] or a pool named "default" (requests no route matches go there)';
    ctx.addIssue({ code: 'custom', path: ['backends'], message });
  }
  return names;
}

export function checkTraffic(c: TrafficInput, ctx: z.core.$RefinementCtx): void {
  const pools = checkPools(c, ctx);
  const known = [...pools].map((p) => JSON.stringify(p)).join(', ');
  const needPool = (name: string, path: (string | number)[]): void => {
    if (!pools.has(name)) ctx.addIssue({ code: 'custom', path, message: `unknown pool ${JSON.stringify(name)} (pools: ${known})` });
  };
  const flags = new Set<string>();
  const features = new Map<string, string>();
  c.flags.forEach((f, i) => {
    if (flags.has(f.name)) ctx.addIssue({ code: 'custom', path: ['flags', i, 'name'], message: `duplicate flag name ${JSON.stringify(f.name)}` });
    flags.add(f.name);
    if (f.feature === undefined) return;
    const other = features.get(f.feature);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['flags', i, 'feature'], message: `feature ${f.feature} is already switched by flag ${JSON.stringify(other)}` });
    features.set(f.feature, f.name);
  });
  c.routes.forEach((r, i) => {
    if (r.flag !== undefined && !flags.has(r.flag)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'flag'], message: `unknown flag ${JSON.stringify(r.flag)}` });
    if (r.pool !== undefined) needPool(r.pool, ['routes', i, 'pool']);
    r.split?.forEach((s, j) => needPool(s.pool, ['routes', i, 'split', j, 'pool']));
  });
  const rolloutNames = new Set<string>();
  const stables = new Map<string, string>();
  c.rollouts.forEach((r, i) => {
    if (rolloutNames.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rollouts', i, 'name'], message: `duplicate rollout name ${JSON.stringify(r.name)}` });
    rolloutNames.add(r.name);
    needPool(r.stable, ['rollouts', i, 'stable']);
    needPool(r.canary, ['rollouts', i, 'canary']);
    const other = stables.get(r.stable);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['rollouts', i, 'stable'], message: `pool ${JSON.stringify(r.stable)} is already the stable pool of rollout ${JSON.stringify(other)}` });
    stables.set(r.stable, r.name);
  });
  const sides = new Map<string, string>();
  const pairNames = new Set<string>();
  c.blueGreen.forEach((p, i) => {
    if (pairNames.has(p.name)) ctx.addIssue({ code: 'custom', path: ['blueGreen', i, 'name'], message: `duplicate blue-green name ${JSON.stringify(p.name)}` });
    pairNames.add(p.name);
    for (const side of ['blue', 'green'] as const) {
      needPool(p[side], ['blueGreen', i, side]);
      const other = sides.get(p[side]);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['blueGreen', i, side], message: `pool ${JSON.stringify(p[side])} is already a side of blue-green ${JSON.stringify(other)}` });
      sides.set(p[side], p.name);
    }
  });
  const entries = new Map<string, string>();
  const experimentNames = new Set<string>();
  c.experiments.forEach((e, i) => {
    if (experimentNames.has(e.name)) ctx.addIssue({ code: 'custom', path: ['experiments', i, 'name'], message: `duplicate experiment name ${JSON.stringify(e.name)}` });
    experimentNames.add(e.name);
    needPool(e.pool, ['experiments', i, 'pool']);
    e.variants.forEach((v, j) => needPool(v.pool, ['experiments', i, 'variants', j, 'pool']));
    const other = entries.get(e.pool);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['experiments', i, 'pool'], message: `pool ${JSON.stringify(e.pool)} already takes part in experiment ${JSON.stringify(other)}` });
    entries.set(e.pool, e.name);
  });
  const shadowNames = new Set<string>();
  const shadowed = new Map<string, string>();
  c.shadows.forEach((s, i) => {
    if (shadowNames.has(s.name)) ctx.addIssue({ code: 'custom', path: ['shadows', i, 'name'], message: `duplicate shadow name ${JSON.stringify(s.name)}` });
    shadowNames.add(s.name);
    needPool(s.pool, ['shadows', i, 'pool']);
    needPool(s.shadowPool, ['shadows', i, 'shadowPool']);
    const other = shadowed.get(s.pool);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['shadows', i, 'pool'], message: `pool ${JSON.stringify(s.pool)} is already copied by shadow ${JSON.stringify(other)}` });
    shadowed.set(s.pool, s.name);
  });
  c.rollouts.forEach((r, i) => {
    if (stables.has(r.canary)) ctx.addIssue({ code: 'custom', path: ['rollouts', i, 'canary'], message: `pool ${JSON.stringify(r.canary)} is the stable pool of a rollout; a canary cannot be split again` });
  });
}
