// Wires state shared beyond one process: with [shared] redis_url, the shared rate limits and the
// retry model across instances through Redis; in a worker of `serve --workers N`, the other rate
// limits (and, without Redis, the retry model) across the machine's workers through the primary.
// Without either, nothing is shared or started.
import type { Config } from '../config/schema.ts';
import { createRedisSharedState } from '../shared/redis-shared-state.ts';
import type { SharedState } from '../shared/shared-state.ts';
import type { RuntimeDeps } from './deps.ts';
import { ModelSync } from './model-sync.ts';
import { RateLimitSync } from './rate-limit-sync.ts';
import type { RateLimits } from './rate-limits.ts';
import type { RetryIntelligence } from './retry-intelligence.ts';

export interface SharedSync {
  stop(): Promise<void>;
}

/** The Redis URL without its password, for logs and the admin API. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

interface Sync {
  start(): void;
  stop(): Promise<void>;
  syncOnce(): Promise<void>;
}

async function connectRedis(config: Config, deps: RuntimeDeps): Promise<SharedState | undefined> {
  const shared = config.shared;
  if (shared.redisUrl === undefined) return undefined;
  const store = createRedisSharedState({ url: shared.redisUrl, timeoutMs: shared.timeout });
  // startup does not wait long for Redis: the fail mode covers an outage at start as well as later
  const isReady = await store.whenReady(shared.timeout);
  if (isReady) deps.logger.info({ redis: redactedUrl(shared.redisUrl) }, 'shared state connected');
  else deps.logger.warn({ redis: redactedUrl(shared.redisUrl), failMode: shared.failMode }, 'shared state not reachable at start; retrying in the background');
  return store;
}

export async function startSharedSync(
  config: Config,
  parts: { rateLimits: RateLimits; retry: RetryIntelligence | undefined },
  deps: RuntimeDeps,
  workersStore?: SharedState,
): Promise<SharedSync | undefined> {
  const shared = config.shared;
  const redis = await connectRedis(config, deps);
  const syncs: Sync[] = [];
  const limitOptions = { intervalMs: shared.syncInterval, keyPrefix: shared.keyPrefix };
  if (redis !== undefined) syncs.push(new RateLimitSync(parts.rateLimits, redis, { ...limitOptions, store: 'redis' }, deps));
  if (workersStore !== undefined) syncs.push(new RateLimitSync(parts.rateLimits, workersStore, { ...limitOptions, store: 'workers' }, deps));
  const modelStore = shared.shareModel && redis !== undefined ? { store: redis, name: 'redis' as const } : workersStore !== undefined ? { store: workersStore, name: 'workers' as const } : undefined;
  if (modelStore !== undefined && parts.retry !== undefined && config.model.enabled) {
    syncs.push(new ModelSync(parts.retry, modelStore.store, { intervalMs: shared.modelSyncInterval, keyPrefix: shared.keyPrefix, store: modelStore.name }, deps));
  }
  if (syncs.length === 0) return undefined;
  await Promise.all(syncs.map((s) => s.syncOnce()));
  for (const s of syncs) s.start();
  return {
    async stop() {
      await Promise.all(syncs.map((s) => s.stop()));
      // the last takes still count, and the last learning reaches the shared model
      await Promise.all(syncs.map((s) => s.syncOnce()));
      await redis?.close();
    },
  };
}
