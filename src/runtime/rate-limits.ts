// The admit phase's rate limits for the running process: one RateLimiter per [[rate_limits]]
// entry. They outlive generations: a reload keeps the buckets of every limit whose settings did
// not change, and starts a changed or new limit with full buckets.
import { Errors, type ErrorSpec } from '../core/errors.ts';
import type { Config, RateLimitConfig } from '../config/schema.ts';
import { rateLimitField, rateLimitPolicyField, retryAfterSeconds } from '../protect/rate-limit-headers.ts';
import { isUnderPrefix, parseRateLimitKey, rateLimitKeyOf, type RateLimitKey, type RateLimitRequest } from '../protect/rate-limit-key.ts';
import { RateLimiter } from '../protect/rate-limiter.ts';
import { fullAfterMs } from '../protect/token-bucket.ts';
import { createClientKeyFn, parseClientKeySource, type ClientKeySource } from '../telemetry/client-key.ts';
import type { RuntimeDeps } from './deps.ts';

export interface RateLimitRejection {
  readonly spec: ErrorSpec;
  readonly retryAfterSec: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ActiveRateLimit {
  readonly name: string;
  /** Changes when any setting of the limit changes: part of its Redis keys, so a changed limit starts afresh everywhere. */
  readonly signature: string;
  readonly isShared: boolean;
  readonly ratePerSecond: number;
  readonly burst: number;
  /** How long the shared store keeps an untouched bucket. */
  readonly storeTtlMs: number;
  readonly limiter: RateLimiter;
  readonly key: RateLimitKey;
  readonly pathPrefix: string;
  readonly policyField: string;
  readonly counters: { readonly allowed: { inc(): void }; readonly limited: { inc(): void }; readonly unavailable: { inc(): void } };
}

const UNAVAILABLE_HEADERS = Object.freeze({ 'retry-after': '1' });

function signatureOf(l: RateLimitConfig): string {
  return [l.key, l.pathPrefix, l.rate, l.burst, l.maxKeys, l.keyTtl, l.shared].join('|');
}

export class RateLimits {
  readonly #deps: RuntimeDeps;
  #limits: readonly ActiveRateLimit[] = [];
  #clientKey: (req: { headers: RateLimitRequest['headers']; clientIp: string }) => string = () => '';
  #isFailClosed = false;
  /** False while the shared store is unreachable; set by the sync. */
  isSharedAvailable = true;

  constructor(config: Config, deps: RuntimeDeps) {
    this.#deps = deps;
    this.reconfigure(config);
  }

  get limits(): readonly ActiveRateLimit[] {
    return this.#limits;
  }

  reconfigure(config: Config): void {
    const previous = new Map(this.#limits.map((l) => [`${l.name}\0${l.signature}`, l]));
    this.#limits = config.rateLimits.map((l) => previous.get(`${l.name}\0${signatureOf(l)}`) ?? this.#create(l));
    // a removed limit's gauge would otherwise report its last key count forever
    const names = new Set(this.#limits.map((l) => l.name));
    for (const old of previous.values()) if (!names.has(old.name)) this.#deps.metrics.rateLimitKeys.remove({ limit: old.name });
    const t = config.telemetry;
    this.#clientKey = createClientKeyFn(t.clientKey.map((s) => parseClientKeySource(s) as ClientKeySource), t.clientKeySalt);
    this.#isFailClosed = config.shared.failMode === 'closed';
  }

  /**
   * admit: every limit matching the request takes a token; the first that has none refuses it.
   * Undefined when the request may go on. `clientKey` is the client key when telemetry computed it
   * already. Positional arguments: nothing is allocated for a request no limit refuses.
   */
  check(url: string, clientIp: string, headers: RateLimitRequest['headers'], clientKey: string | undefined, nowMs: number): RateLimitRejection | undefined {
    const limits = this.#limits;
    if (limits.length === 0) return undefined;
    let req: RateLimitRequest | undefined;
    for (const limit of limits) {
      if (!isUnderPrefix(url, limit.pathPrefix)) continue;
      req ??= { clientIp, headers, clientKey: () => (clientKey ??= this.#clientKey({ headers, clientIp })) };
      const key = rateLimitKeyOf(limit.key, req);
      if (key === undefined) continue;
      if (limit.isShared && this.#isFailClosed && !this.isSharedAvailable) {
        limit.counters.unavailable.inc();
        return { spec: Errors.limitUnavailable, retryAfterSec: 1, headers: UNAVAILABLE_HEADERS };
      }
      const result = limit.limiter.take(key, nowMs);
      if (result.isAllowed) {
        limit.counters.allowed.inc();
        continue;
      }
      limit.counters.limited.inc();
      const retryAfterSec = retryAfterSeconds(result.retryAfterMs);
      return {
        spec: Errors.rateLimited,
        retryAfterSec,
        headers: { 'retry-after': String(retryAfterSec), 'ratelimit-policy': limit.policyField, ratelimit: rateLimitField(limit.name, result.remaining, retryAfterSec) },
      };
    }
    return undefined;
  }

  /** Releases the buckets of keys idle past their TTL, also when no new key arrives to push them out. */
  sweep(nowMs: number): void {
    for (const l of this.#limits) l.limiter.sweep(nowMs);
  }

  publishGauges(): void {
    for (const l of this.#limits) this.#deps.metrics.rateLimitKeys.set({ limit: l.name }, l.limiter.keyCount);
  }

  #create(l: RateLimitConfig): ActiveRateLimit {
    const m = this.#deps.metrics;
    const limiter = new RateLimiter({ ratePerSecond: l.rate, burst: l.burst, maxKeys: l.maxKeys, keyTtlMs: l.keyTtl }, (reason) => m.rateLimitEvictions.inc({ limit: l.name, reason }));
    return Object.freeze({
      name: l.name,
      signature: signatureOf(l),
      isShared: l.shared,
      ratePerSecond: l.rate,
      burst: l.burst,
      storeTtlMs: Math.max(l.keyTtl, 2 * fullAfterMs(limiter.shape)),
      limiter,
      key: parseRateLimitKey(l.key) as RateLimitKey,
      pathPrefix: l.pathPrefix,
      policyField: rateLimitPolicyField(l.name, limiter.shape),
      counters: {
        allowed: m.rateLimitRequests.labels({ limit: l.name, decision: 'allowed' }),
        limited: m.rateLimitRequests.labels({ limit: l.name, decision: 'limited' }),
        unavailable: m.rateLimitRequests.labels({ limit: l.name, decision: 'unavailable' }),
      },
    });
  }
}
