// Config sections of progressive delivery: named pools, ordered routes with weighted splits, and
// canary rollouts. The top-level [[backends]] stay the pool named "default".
import * as z from 'zod';
import { duration, percent, restartOnly } from './fields.ts';

export const DEFAULT_POOL = 'default';

const POOL_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

const poolName = () =>
  z
    .string()
    .regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-", starting with a letter or digit' })
    .meta({ docType: 'pool name' });

const nameValue = z
  .strictObject({
    name: z.string().min(1).describe('Header or cookie name (headers match case-insensitively).'),
    value: z.string().describe('Exact value the request must carry.'),
  })
  .describe('One header or cookie that must be present with this value.');

export const splitSchema = z
  .strictObject({
    pool: poolName().describe('Pool that gets this share.'),
    weight: z.int().min(0).max(10_000).describe('Relative share of the route\'s requests.'),
  })
  .describe('One leg of a weighted split.');

export const routeSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Name used in logs, metrics and the admin API; defaults to `route-<index>`.'),
    host: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase())
      .optional()
      .describe('Host the request must be for (the Host header without its port, case-insensitive). A leading `*.` matches any subdomain.'),
    pathPrefix: z.string().regex(/^\/[^?#\s]*$/, { error: 'must start with "/" and hold no "?", "#" or spaces' }).optional().describe('Path prefix the request URL must start with.'),
    methods: z.array(z.string().regex(/^[A-Z]+$/, { error: 'must be an upper-case HTTP method' })).optional().describe('Methods matched; any method when unset.'),
    headers: z.array(nameValue).default([]).describe('Headers that must all be present with these exact values, e.g. `[{ name = "x-beta", value = "1" }]`.'),
    cookies: z.array(nameValue).default([]).describe('Cookies that must all be present with these exact values.'),
    flag: z.string().min(1).optional().describe('The route matches only requests the named `[[flags]]` flag is on for.'),
    pool: poolName().optional().describe('Pool that serves matching requests. Exactly one of `pool` and `split`.'),
    split: z.array(splitSchema).optional().describe('Weighted split between pools, e.g. `[{ pool = "v1", weight = 90 }, { pool = "v2", weight = 10 }]`. Exactly one of `pool` and `split`.'),
  })
  .superRefine((r, ctx) => {
    if ((r.pool === undefined) === (r.split === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of pool and split' });
    if (r.split !== undefined) {
      if (r.split.length === 0) ctx.addIssue({ code: 'custom', path: ['split'], message: 'an empty split sends traffic nowhere: give at least one pool' });
      else if (r.split.every((s) => s.weight === 0)) ctx.addIssue({ code: 'custom', path: ['split'], message: 'the weights sum to 0: at least one must be positive' });
    }
  })
  .describe('A routing rule. Rules are tried in order; the first whose conditions all match picks the target. Requests no rule matches go to the `default` pool.');

/**
 * A named pool. Built from the schema's own backend, strategy and health tables (passed in, so
 * that this file does not import schema.ts, which imports it).
 */
export function createPoolSchema<B extends z.ZodType, S extends z.ZodType, H extends z.ZodType>(parts: { backends: B; strategy: S; health: H }) {
  return z
    .strictObject({
      name: poolName().describe('Name of the pool, used by routes, splits, rollouts and in metrics (`pool` label). `default` is the top-level `[[backends]]` when they exist.'),
      backends: parts.backends.describe('The pool\'s backends, as `[[pools.backends]]` tables with the keys of `[[backends]]`. Backend names are unique across all pools.'),
      strategy: parts.strategy.optional().describe('The pool\'s own `[pools.strategy]` table, `ewma_half_life` included (keys it leaves out take their defaults, not the top-level values); the top-level `[strategy]` when unset.'),
      health: parts.health.optional().describe('The pool\'s own `[pools.health]` table (keys it leaves out take their defaults, not the top-level values); the top-level `[health]` when unset.'),
    })
    .describe('A named pool of backends with its own strategy and health checks. Routes, splits and rollouts send traffic to pools.');
}

export const rolloutSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the rollout, used in the admin API, logs and metrics.'),
    stable: poolName().describe('Pool serving the current version. Every request routed to it is split between it and `canary`.'),
    canary: poolName().describe('Pool serving the new version.'),
    steps: z.array(percent()).min(1).default([10, 25, 50, 100]).describe('Canary shares in percent, increasing; each is held for `step_duration`. When the last has passed, the canary is promoted and takes 100 % of the stable pool\'s traffic.'),
    stepDuration: duration().prefault('5m').describe('How long each step is held (and must pass every analysis) before the next one.'),
    analysisInterval: duration().prefault('30s').describe('How often the canary is compared with stable.'),
    maxErrorRate: percent().default(1).describe('An interval fails when the canary\'s error rate (5xx and transport errors), in percent, is above this.'),
    maxP99: duration().prefault('500ms').describe('An interval fails when the canary\'s p99 latency is above this.'),
    maxErrorRateIncrease: percent().optional().describe('Optional: an interval also fails when the canary\'s error rate exceeds stable\'s by more than this many percentage points.'),
    minSamples: z.int().min(1).default(100).describe('Canary requests an interval needs for a verdict; an interval with fewer neither passes nor fails, so low traffic never promotes.'),
    autoStart: z.boolean().default(true).describe('Start the rollout when it first appears in the config; when false it waits for `POST /api/rollouts/<name>/resume`.'),
  })
  .superRefine((r, ctx) => {
    if (r.stable === r.canary) ctx.addIssue({ code: 'custom', path: ['canary'], message: 'must differ from stable' });
    for (let i = 1; i < r.steps.length; i++) {
      if ((r.steps[i] ?? 0) <= (r.steps[i - 1] ?? 0)) ctx.addIssue({ code: 'custom', path: ['steps', i], message: 'steps must increase' });
    }
  })
  .describe('A canary rollout: the canary pool takes a growing share of the stable pool\'s traffic, step by step, and is rolled back when an analysis fails.');

export const blueGreenSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the pair, used in the admin API (`POST /api/blue-green/<name>/switch`), logs and metrics.'),
    blue: poolName().describe('One side: a pool. Requests routed to either side are served by the active one.'),
    green: poolName().describe('The other side: a pool.'),
    active: z.enum(['blue', 'green']).default('blue').describe('The side in service. Changing it in the config switches (config wins over an earlier admin switch); the admin API switches without a reload.'),
    smokePath: z.string().regex(/^\//, { error: 'must start with "/"' }).optional().describe('Before a switch, GET this path on every eligible backend of the new side; the switch happens only when all answer 2xx/3xx. No smoke check when unset.'),
    smokeTimeout: duration().prefault('2s').describe('Time each smoke request may take.'),
  })
  .superRefine((b, ctx) => {
    if (b.blue === b.green) ctx.addIssue({ code: 'custom', path: ['green'], message: 'must differ from blue' });
  })
  .describe('A blue-green pair: two pools, one of them in service; one atomic switch moves all traffic, and switching back is instant.');

export const variantSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the variant; the first variant is the control the others are compared with.'),
    pool: poolName().describe('Pool that serves the variant.'),
    weight: z.int().min(0).max(10_000).describe('Relative share of the keys assigned to the variant.'),
  })
  .describe('One variant of an experiment.');

const EXPERIMENT_KEY = /^(client_ip|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+|cookie:[^\s;=]+)$/;

export const experimentSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the experiment (admin API, metrics, `sibyl experiment report`). Part of the assignment hash: renaming reshuffles the keys.'),
    pool: poolName().describe('The pool whose requests take part: each is assigned to a variant and served by that variant\'s pool.'),
    key: z.string().regex(EXPERIMENT_KEY, { error: 'expected "client_ip", "header:NAME" or "cookie:NAME"' }).transform((k) => (k.startsWith('header:') ? k.toLowerCase() : k)).describe('What makes the assignment sticky: `header:NAME`, `cookie:NAME` or `client_ip`. A request without the header or cookie stays in `pool` and is not counted.').meta({ docType: '"client_ip", "header:NAME" or "cookie:NAME"' }),
    variants: z.array(variantSchema).min(2, { error: 'an experiment needs at least two variants (a control and one more)' }).describe('The variants, control first, e.g. `[{ name = "control", pool = "default", weight = 50 }, { name = "new", pool = "v2", weight = 50 }]`.'),
    alpha: z.number().gt(0).lt(0.5).default(0.05).describe('Significance level of the tests in the report.'),
    power: z.number().gt(0.5).lt(1).default(0.8).describe('Power the sample-size check asks for.'),
    minDetectableEffect: z.number().gt(0).lt(1).default(0.02).describe('Smallest absolute change of the success rate worth detecting (0.02 = 2 points); the report says whether each variant has the sample this needs.'),
  })
  .superRefine((e, ctx) => {
    const names = new Set<string>();
    const pools = new Set<string>();
    e.variants.forEach((v, i) => {
      if (names.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `duplicate variant name ${JSON.stringify(v.name)}` });
      if (pools.has(v.pool)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'pool'], message: `pool ${JSON.stringify(v.pool)} already serves another variant; each variant needs its own pool` });
      names.add(v.name);
      pools.add(v.pool);
    });
    if (e.variants.length > 0 && e.variants.every((v) => v.weight === 0)) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'the weights sum to 0: at least one must be positive' });
  })
  .describe('An A/B experiment: requests to `pool` are assigned to variants by hashing a key into the weights (sticky across requests, restarts and instances); per-variant success rate and latency are compared with the control.');

const DEFAULT_IGNORED_HEADERS = ['date', 'server', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-request-id', 'via', 'etag', 'last-modified', 'age', 'expires', 'set-cookie'];

export const shadowSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the shadow (admin API `GET /api/shadows`, logs, metrics).'),
    pool: poolName().describe('Requests served by this pool are copied (after routes, blue-green, experiments and rollouts chose it).'),
    shadowPool: poolName().describe('Pool that receives the copies. Its answers never reach a client.'),
    percent: percent().default(10).describe('Share of the pool\'s requests copied, in percent.'),
    maxConcurrency: z.int().min(1).max(10_000).default(32).describe('Copies in flight at most; a copy beyond it is dropped (counted in `sibyl_traffic_shadow_requests_total{result="dropped"}`), never queued.'),
    maxBodyBytes: z.int().min(0).max(16_777_216).default(65_536).describe('Largest request body copied; a request with a larger (or chunked) body is not copied (`result="skipped_body"`). A copied request\'s body is read whole before it is forwarded.'),
    maxResponseBytes: z.int().min(0).max(16_777_216).default(1_048_576).describe('Bytes of each response (primary and shadow) kept for the comparison; beyond it only the status and headers are compared.'),
    timeout: duration().prefault('10s').describe('Time a copy may take; then it is abandoned and counted as a shadow error.'),
    header: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a valid HTTP header name' }).transform((h) => h.toLowerCase()).default('x-sibyl-shadow').describe('Header added to every copy (value "1") so the shadow side can tell copies from real traffic.').meta({ docType: 'header name' }),
    ignoreHeaders: z.array(z.string().min(1).transform((h) => h.toLowerCase())).default(DEFAULT_IGNORED_HEADERS).describe('Response headers left out of the comparison (those that differ between any two responses by nature).'),
    ignoreJsonFields: z.array(z.string().min(1)).default([]).describe('Fields removed from JSON response bodies before they are compared, as dotted paths from the top (`meta.generated_at`); a field name alone matches at any depth when it has no dot.'),
    sampleDiffs: z.int().min(0).max(1000).default(20).describe('The latest differences kept in full (method, URL, both statuses, differing headers, body hashes) for `GET /api/shadows`.'),
  })
  .superRefine((s, ctx) => {
    if (s.pool === s.shadowPool) ctx.addIssue({ code: 'custom', path: ['shadowPool'], message: 'must differ from pool: a pool cannot shadow itself' });
  })
  .describe('Shadow traffic: a share of a pool\'s requests is copied to a shadow pool, fire-and-forget with bounded concurrency and memory; the answers are compared (status, headers, body hash) and the diff rate reported.');

export const FlagFeatures = ['retry_aware_routing'] as const;

export const segmentSchema = z
  .strictObject({
    header: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a valid HTTP header name' }).transform((h) => h.toLowerCase()).optional().describe('Header the request must carry with `value`.'),
    cookie: z.string().min(1).optional().describe('Cookie the request must carry with `value`.'),
    value: z.string().describe('Exact value.'),
  })
  .superRefine((seg, ctx) => {
    if ((seg.header === undefined) === (seg.cookie === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'a segment needs exactly one of header and cookie' });
  })
  .describe('A segment: requests with this header or cookie value.');

export const flagSchema = z
  .strictObject({
    name: z.string().regex(POOL_NAME, { error: 'must be lower-case letters, digits, "_", "." or "-"' }).describe('Name of the flag, used by `[[routes]] flag` and in metrics. Part of the hash: renaming reshuffles the keys.'),
    percent: percent().default(0).describe('Share of keys the flag is on for, in percent (sticky: by a hash of the flag name and the key).'),
    key: z.string().regex(EXPERIMENT_KEY, { error: 'expected "client_ip", "header:NAME" or "cookie:NAME"' }).transform((k) => (k.startsWith('header:') ? k.toLowerCase() : k)).default('client_ip').describe('What makes the percentage sticky: `client_ip`, `header:NAME` or `cookie:NAME`; a request without it falls back to its client IP.').meta({ docType: '"client_ip", "header:NAME" or "cookie:NAME"' }),
    segments: z.array(segmentSchema).default([]).describe('Requests in any of these segments have the flag on whatever the percentage, e.g. `[{ header = "x-beta", value = "1" }]`.'),
    feature: z.enum(FlagFeatures).optional().describe('A feature of Sibyl this flag switches: on for the requests the flag is on for, off for the others. `retry_aware_routing`: a client retry avoids the backend that failed its previous attempt.'),
  })
  .describe('A feature flag: on for a sticky percentage of keys and for segments; a route condition (`[[routes]] flag`) and a switch for Sibyl\'s own features. Hot-reloaded with the config.');

export const modelRolloutSchema = z
  .strictObject({
    candidatePath: z.string().min(1).optional().describe('A candidate retry-model snapshot (from `sibyl train`) to run beside the live model; off when unset. Read at start: a restart picks up a new file.'),
    mode: z.enum(['shadow', 'canary']).default('shadow').describe('`shadow`: the candidate scores every response and learns, its answers are only compared; `canary`: it also answers `canary_percent` of the predictions Sibyl acts on (pacing, `/predict_retry`), and is promoted or rolled back on its log loss.'),
    canaryPercent: percent().default(10).describe('`canary` only: share of the predictions the candidate makes, in percent.'),
    disagreementThreshold: z.number().gt(0).lt(1).default(0.1).describe('A response whose two predictions differ by more than this (|dp|) counts as a disagreement and is sampled.'),
    minSamples: z.int().min(10).default(1000).describe('Labelled events both models must have been scored on before the candidate is judged; fewer never promotes.'),
    minPositiveLabels: z.int().min(1).default(50).describe('Retried labels (client retries seen) the judged window must hold, beside at least as many labels of 0: a window of one class (no retry at all) says nothing about which model ranks retries better, so it never promotes or rolls back.'),
    promoteMargin: z.number().min(0).max(1).default(0.02).describe('`canary` only: promoted when its progressive log loss is below the live model\'s by this fraction (0.02 = 2 % better); rolled back when above it by the same fraction.'),
    sampleDisagreements: z.int().min(0).max(1000).default(20).describe('The latest disagreements kept in full for `GET /api/model`.'),
  })
  .describe('A new version of the retry model, shadowed or canaried beside the live one.');

export const trafficSchema = z
  .strictObject({
    stateFile: restartOnly(z.string().min(1).optional().describe('File where rollout, blue-green and experiment state is kept so that it survives a restart (one file per instance); in memory only when unset.')),
  })
  .describe('Progressive delivery settings shared by pools, routes and rollouts.');
