// SharedState in Redis (ioredis). One Lua script applies a batch of bucket reports atomically, on
// Redis's own clock (instances' clocks may disagree); batches of one sync are auto-pipelined into
// one round trip. Commands fail fast while Redis is unreachable (no offline queue, no per-request
// retries): the caller's fail mode decides, and ioredis keeps reconnecting in the background.
import { Redis } from 'ioredis';
import type { BucketReport, SharedState } from './shared-state.ts';

/** The same maths as applyReport() in shared-state.ts; ARGV holds 4 values per key. */
export const TAKE_TOKENS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local a = (i - 1) * 4
  local consumed = tonumber(ARGV[a + 1])
  local rate = tonumber(ARGV[a + 2]) / 1000
  local burst = tonumber(ARGV[a + 3])
  local ttl = tonumber(ARGV[a + 4])
  local s = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(s[1])
  local at = tonumber(s[2])
  if tokens == nil or at == nil then tokens = burst; at = now end
  if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
  tokens = math.max(-burst, tokens - consumed)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(math.max(at, now)))
  redis.call('PEXPIRE', key, ttl)
  out[i] = tostring(tokens)
end
return out
`;

/** Keys per script call: bounds the time one call holds Redis. */
const MAX_KEYS_PER_CALL = 500;
const MAX_RECONNECT_DELAY_MS = 1000;

export interface RedisSharedStateOptions {
  readonly url: string;
  readonly timeoutMs: number;
}

type TakeTokensCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<string[]>;

export interface RedisSharedState extends SharedState {
  /** Resolves true once connected, false when not connected within the timeout (it keeps trying). */
  whenReady(timeoutMs: number): Promise<boolean>;
}

export function createRedisSharedState(options: RedisSharedStateOptions): RedisSharedState {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(options.timeoutMs, 1000),
    enableAutoPipelining: true,
    retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  });
  // connection errors surface as failed syncs (counted and logged there); without a listener
  // ioredis would print each reconnect attempt
  redis.on('error', () => undefined);
  redis.defineCommand('sibylTakeTokens', { lua: TAKE_TOKENS_LUA });
  const takeTokensCommand = (redis as unknown as { sibylTakeTokens: TakeTokensCommand }).sibylTakeTokens.bind(redis);

  const call = async (reports: readonly BucketReport[]): Promise<number[]> => {
    const args: (string | number)[] = reports.map((r) => r.key);
    for (const r of reports) args.push(r.consumed, r.ratePerSecond, r.burst, Math.ceil(r.ttlMs));
    const answer = await takeTokensCommand(reports.length, ...args);
    return answer.map(Number);
  };

  return {
    async takeTokens(reports) {
      if (reports.length <= MAX_KEYS_PER_CALL) return call(reports);
      const chunks: BucketReport[][] = [];
      for (let i = 0; i < reports.length; i += MAX_KEYS_PER_CALL) chunks.push(reports.slice(i, i + MAX_KEYS_PER_CALL));
      return (await Promise.all(chunks.map(call))).flat();
    },
    whenReady(timeoutMs) {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        redis.once('ready', onReady);
      });
    },
    async close() {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
