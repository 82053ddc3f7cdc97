// Config sections of rate limiting ([[rate_limits]]) and of state shared across instances through
// Redis ([shared]).
import * as z from 'zod';
import { duration, restartOnly, urlPath } from './fields.ts';

const RATE_LIMIT_KEY = /^(client_ip|client_key|route|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

export const rateLimitSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_", "." or "-"' }).describe('Unique name: the `limit` label of the metrics, the policy name in the `RateLimit` and `RateLimit-Policy` response fields, and the key prefix in Redis.'),
    key: z.string().regex(RATE_LIMIT_KEY, { error: 'expected "client_ip", "client_key", "route" or "header:<name>"' }).default('client_ip').meta({ docType: '"client_ip", "client_key", "route" or "header:NAME"' }).describe('What gets its own token bucket: `client_ip`; `header:NAME` (the header\'s value; a request without it is not counted by this limit); `client_key` (the client key of `[telemetry] client_key`); `route` (one bucket for every request the limit matches).'),
    pathPrefix: urlPath().default('/').describe('The limit applies to requests whose path is this prefix or below it (at a segment boundary: "/api" matches /api and /api/x, not /apix).'),
    rate: z.number().positive().max(1_000_000).describe('Tokens added per second (> 0, fractions allowed): the sustained requests per second allowed per key.'),
    burst: z.int().min(1).max(1_000_000).optional().describe('Bucket size: requests a key may send at once after being idle. Unset: the rate rounded up.'),
    maxKeys: z.int().min(1).max(10_000_000).default(100_000).describe('At most this many keys are remembered; the least recently used are evicted (counted in `sibyl_protect_rate_limit_evictions_total`): an evicted key starts again with a full bucket.'),
    keyTtl: duration().prefault('10m').describe('A key idle for this long is forgotten. Never shorter in effect than burst / rate (the time a bucket needs to fill), so forgetting an idle key changes no decision.'),
    shared: z.boolean().default(false).describe('Enforce the limit across all instances through `[shared] redis_url` (one global bucket per key) instead of in this process alone.'),
  })
  .transform((l) => ({ ...l, burst: l.burst ?? Math.ceil(l.rate) }))
  .describe('A rate limit: a token bucket per key, refused with 429 + Retry-After and the RateLimit / RateLimit-Policy fields. Every matching limit is checked, in order.');

export const rateLimitsSchema = z
  .array(rateLimitSchema)
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((l, i) => {
      const first = seen.get(l.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name ${JSON.stringify(l.name)} (also rate_limits[${first}])` });
      else seen.set(l.name, i);
    });
  });

const REDIS_URL = /^rediss?:\/\/\S+$/;

export const sharedSchema = z
  .strictObject({
    redisUrl: restartOnly(z.string().regex(REDIS_URL, { error: 'expected "redis://[user:password@]host:port[/db]" or "rediss://..."' }).optional().meta({ docType: 'redis:// URL' }).describe('Redis that instances share state through: rate limits with `shared = true`, and the retry model (`share_model`). Unset: everything stays in this process (the embedded default). A change needs a restart.')),
    keyPrefix: restartOnly(z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/).default('sibyl:').describe('Prefix of every Redis key Sibyl writes, so that several fleets can share one Redis.')),
    syncInterval: restartOnly(duration().prefault('50ms').describe('How often each instance reports what its shared limits let through and learns the global remainder, in one batched round trip. Longer: less Redis load, a larger overshoot near the limit (see docs/operations.md).')),
    timeout: restartOnly(duration().prefault('500ms').describe('A sync that takes longer fails; after a failure Redis counts as unreachable until a sync succeeds again.')),
    shareModel: restartOnly(z.boolean().default(true).describe('Share the retry model: each instance learns locally and, every `model_sync_interval`, adds what it learned to one global model in Redis and takes the global model back (needs [telemetry] and [model] enabled).')),
    modelSyncInterval: restartOnly(duration().prefault('5s').describe('How often each instance merges its retry model with the global one. Right after a merge all instances predict alike; between merges they drift apart by what each learned alone.')),
    failMode: z.enum(['open', 'closed']).default('open').describe('While Redis is unreachable: `open` enforces each shared limit in every instance alone (so N instances let up to N x rate through); `closed` refuses every request a shared limit applies to with 503 + Retry-After.'),
  })
  .describe('State shared across instances through Redis.');

interface SharedInput {
  rateLimits: readonly { shared: boolean }[];
  shared: { redisUrl?: string | undefined };
}

/** A shared limit needs somewhere to share it. */
export function checkSharedLimits(c: SharedInput, ctx: z.core.$RefinementCtx): void {
  if (c.shared.redisUrl !== undefined) return;
  c.rateLimits.forEach((l, i) => {
    if (l.shared) ctx.addIssue({ code: 'custom', path: ['rateLimits', i, 'shared'], message: 'needs [shared] redis_url' });
  });
}
