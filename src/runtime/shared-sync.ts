// Wires state shared across instances when [shared] redis_url is set: the Redis adapter and the
// syncs that use it. Without redis_url nothing is shared and nothing is started.
import type { Config } from '../config/schema.ts';
import { createRedisSharedState } from '../shared/redis-shared-state.ts';
import type { RuntimeDeps } from './deps.ts';
import { RateLimitSync } from './rate-limit-sync.ts';
import type { RateLimits } from './rate-limits.ts';

export interface SharedSync {
  stop(): Promise<void>;
}

/** The Redis URL without its password, for logs. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export async function startSharedSync(config: Config, rateLimits: RateLimits, deps: RuntimeDeps): Promise<SharedSync | undefined> {
  const shared = config.shared;
  if (shared.redisUrl === undefined) return undefined;
  const store = createRedisSharedState({ url: shared.redisUrl, timeoutMs: shared.timeout });
  // startup does not wait long for Redis: the fail mode covers an outage at start as well as later
  const isReady = await store.whenReady(shared.timeout);
  if (isReady) deps.logger.info({ redis: redactedUrl(shared.redisUrl) }, 'shared state connected');
  else deps.logger.warn({ redis: redactedUrl(shared.redisUrl), failMode: shared.failMode }, 'shared state not reachable at start; retrying in the background');
  const limitSync = new RateLimitSync(rateLimits, store, { intervalMs: shared.syncInterval, keyPrefix: shared.keyPrefix }, deps);
  await limitSync.syncOnce();
  limitSync.start();
  return {
    async stop() {
      await limitSync.stop();
      await limitSync.syncOnce(); // the last takes still count globally
      await store.close();
    },
  };
}
