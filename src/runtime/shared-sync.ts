// Wires state shared across instances when [shared] redis_url is set: the Redis adapter and the
// syncs that use it (rate limits, retry model). Without redis_url nothing is shared or started.
import type { Config } from '../config/schema.ts';
import { createRedisSharedState } from '../shared/redis-shared-state.ts';
import type { RuntimeDeps } from './deps.ts';
import { ModelSync } from './model-sync.ts';
import { RateLimitSync } from './rate-limit-sync.ts';
import type { RateLimits } from './rate-limits.ts';
import type { RetryIntelligence } from './retry-intelligence.ts';

export interface SharedSync {
  stop(): Promise<void>;
}

/** The Redis URL without its password, for logs. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export async function startSharedSync(config: Config, parts: { rateLimits: RateLimits; retry: RetryIntelligence | undefined }, deps: RuntimeDeps): Promise<SharedSync | undefined> {
  const shared = config.shared;
  if (shared.redisUrl === undefined) return undefined;
  const store = createRedisSharedState({ url: shared.redisUrl, timeoutMs: shared.timeout });
  // startup does not wait long for Redis: the fail mode covers an outage at start as well as later
  const isReady = await store.whenReady(shared.timeout);
  if (isReady) deps.logger.info({ redis: redactedUrl(shared.redisUrl) }, 'shared state connected');
  else deps.logger.warn({ redis: redactedUrl(shared.redisUrl), failMode: shared.failMode }, 'shared state not reachable at start; retrying in the background');
  const limitSync = new RateLimitSync(parts.rateLimits, store, { intervalMs: shared.syncInterval, keyPrefix: shared.keyPrefix }, deps);
  await limitSync.syncOnce();
  limitSync.start();
  const isModelShared = shared.shareModel && parts.retry !== undefined && config.model.enabled;
  const modelSync = isModelShared && parts.retry !== undefined ? new ModelSync(parts.retry, store, { intervalMs: shared.modelSyncInterval, keyPrefix: shared.keyPrefix }, deps) : undefined;
  modelSync?.start();
  return {
    async stop() {
      await Promise.all([limitSync.stop(), modelSync?.stop()]);
      // the last takes still count globally, and the last learning reaches the global model
      await Promise.all([limitSync.syncOnce(), modelSync?.syncOnce()]);
      await store.close();
    },
  };
}
