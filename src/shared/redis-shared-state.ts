// SharedState in Redis (ioredis). One Lua script applies a batch of bucket reports atomically, on
// Redis's own clock (instances' clocks may disagree); batches of one sync are auto-pipelined into
// one round trip. Commands fail fast while Redis is unreachable (no offline queue, no per-request
// retries): the caller's fail mode decides, and ioredis keeps reconnecting in the background.
import { Redis } from 'ioredis';
import type { BucketReport, ModelPush, SharedState, SparseCoordinates } from './shared-state.ts';

/** The same maths as applyReport() in shared-state.ts; ARGV holds 5 values per key. */
export const TAKE_TOKENS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local a = (i - 1) * 5
  local consumed = tonumber(ARGV[a + 1])
  local rate = tonumber(ARGV[a + 2]) / 1000
  local burst = tonumber(ARGV[a + 3])
  local min_tokens = tonumber(ARGV[a + 4])
  local ttl = tonumber(ARGV[a + 5])
  local s = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(s[1])
  local at = tonumber(s[2])
  if tokens == nil or at == nil then tokens = burst; at = now end
  if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
  tokens = math.max(min_tokens, tokens - consumed)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(math.max(at, now)))
  redis.call('PEXPIRE', key, ttl)
  out[i] = tostring(tokens)
end
return out
`;

/**
 * The global retry model: one hash with fields z<i> and n<i>, and a marker key that says it was
 * initialised (so that a Redis that lost its data is told apart from a model with no weights).
 * ARGV[1] is the mode; then index, z, n per coordinate. Answers {0} (no global model yet) or
 * {1, HGETALL}.
 */
export const PUSH_MODEL_LUA = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  if ARGV[1] ~= 'init' then return {0} end
  redis.call('DEL', KEYS[1])
  for k = 2, #ARGV, 3 do
    redis.call('HSET', KEYS[1], 'z' .. ARGV[k], ARGV[k + 1], 'n' .. ARGV[k], ARGV[k + 2])
  end
  redis.call('SET', KEYS[2], '1')
elseif ARGV[1] == 'changes' then
  for k = 2, #ARGV, 3 do
    redis.call('HINCRBYFLOAT', KEYS[1], 'z' .. ARGV[k], ARGV[k + 1])
    redis.call('HINCRBYFLOAT', KEYS[1], 'n' .. ARGV[k], ARGV[k + 2])
  end
end
return {1, redis.call('HGETALL', KEYS[1])}
`;

/** HGETALL's flat [field, value, ...] of the model hash as coordinates. */
function parseModelHash(flat: readonly string[]): SparseCoordinates {
  const byIndex = new Map<number, { z: number; n: number }>();
  for (let k = 0; k + 1 < flat.length; k += 2) {
    const field = flat[k]!;
    const index = Number(field.slice(1));
    const entry = byIndex.get(index) ?? { z: 0, n: 0 };
    if (field.startsWith('z')) entry.z = Number(flat[k + 1]);
    else entry.n = Number(flat[k + 1]);
    byIndex.set(index, entry);
  }
  const out: SparseCoordinates = { indices: [], z: [], n: [] };
  for (const [i, v] of byIndex) {
    out.indices.push(i);
    out.z.push(v.z);
    out.n.push(v.n);
  }
  return out;
}

/** Keys per script call: bounds the time one call holds Redis. */
const MAX_KEYS_PER_CALL = 500;
const MAX_RECONNECT_DELAY_MS = 1000;

export interface RedisSharedStateOptions {
  readonly url: string;
  readonly timeoutMs: number;
}

type PushModelCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<[0] | [1, string[]]>;
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
  redis.defineCommand('sibylPushModel', { lua: PUSH_MODEL_LUA });
  const pushModelCommand = (redis as unknown as { sibylPushModel: PushModelCommand }).sibylPushModel.bind(redis);

  const call = async (reports: readonly BucketReport[]): Promise<number[]> => {
    const args: (string | number)[] = reports.map((r) => r.key);
    for (const r of reports) args.push(r.consumed, r.ratePerSecond, r.burst, r.minTokens, Math.ceil(r.ttlMs));
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
    async pushModel(push: ModelPush) {
      const args: (string | number)[] = [push.key, `${push.key}:initialised`, push.mode];
      const c = push.coordinates;
      // String(): shortest round-trip form; HINCRBYFLOAT reads exponents too
      for (let k = 0; k < c.indices.length; k++) args.push(c.indices[k]!, String(c.z[k]), String(c.n[k]));
      const answer = await pushModelCommand(2, ...args);
      return answer[0] === 0 ? undefined : parseModelHash(answer[1]);
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
