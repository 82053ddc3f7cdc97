// Real-world client retry policies. Each client gives every attempt a timeout, after which it
// abandons the attempt (closes the connection) and retries or gives up; the abandoned attempt
// may still be served somewhere, which is the waste a retry storm is made of.
import type { Rng } from '../../src/core/rng.ts';

/** What one attempt gave the client. */
export type AttemptResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterSec: number | undefined }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network' };

export const ClientPolicyNames = ['backoff-3', 'network-only', 'retry-after', 'aws-standard', 'got', 'ky', 'undici-retry', 'p-retry-fetch', 'axios-retry', 'plain-fetch'] as const;
export type ClientPolicyName = (typeof ClientPolicyNames)[number];

export interface ClientPolicy {
  readonly name: ClientPolicyName;
  /** Share of the client processes that use this policy. */
  readonly share: number;
  readonly timeoutMs: number;
  /** Attempts per request, the first included. */
  readonly maxAttempts: number;
  isRetryable(result: AttemptResult): boolean;
  /** Wait before attempt number `attempt + 1`; attempt is 1 after the first failure. */
  delayMs(result: AttemptResult, attempt: number, rng: Rng): number;
  /** AWS SDK standard mode: a per-process token bucket limits retries. */
  readonly hasTokenBucket: boolean;
}

const isServerError = (r: AttemptResult): boolean => r.kind !== 'response' || r.status >= 500 || r.status === 429;
const fullJitter = (baseMs: number, capMs: number, attempt: number, rng: Rng): number => rng.next() * Math.min(capMs, baseMs * 2 ** (attempt - 1));

export const CLIENT_POLICIES: readonly ClientPolicy[] = [
  {
    // the common hand-written loop and most retry libraries: 3 attempts, full-jitter exponential backoff
    name: 'backoff-3',
    share: 0.35,
    timeoutMs: 1_000,
    maxAttempts: 3,
    isRetryable: isServerError,
    delayMs: (_r, attempt, rng) => fullJitter(100, 2_000, attempt, rng),
    hasTokenBucket: false,
  },
  {
    // retries only what never produced a response: timeouts, refused and reset connections
    name: 'network-only',
    share: 0.2,
    timeoutMs: 2_000,
    maxAttempts: 3,
    isRetryable: (r) => r.kind !== 'response',
    delayMs: (_r, attempt, rng) => 100 * 2 ** (attempt - 1) * (1 + rng.next()),
    hasTokenBucket: false,
  },
  {
    // got-like: honours Retry-After on 429/503, else 1 s x 2^n plus up to 100 ms of noise
    name: 'retry-after',
    share: 0.2,
    timeoutMs: 1_500,
    maxAttempts: 3,
    isRetryable: isServerError,
    delayMs: (r, attempt, rng) => {
      if (r.kind === 'response' && r.retryAfterSec !== undefined) return 1_000 * r.retryAfterSec;
      return 1_000 * 2 ** (attempt - 1) + 100 * rng.next();
    },
    hasTokenBucket: false,
  },
  {
    // AWS SDK "standard" retry mode: 3 attempts, full jitter (100 ms base, 20 s cap), retry quota
    name: 'aws-standard',
    share: 0.25,
    timeoutMs: 1_000,
    maxAttempts: 3,
    isRetryable: isServerError,
    delayMs: (_r, attempt, rng) => fullJitter(100, 20_000, attempt, rng),
    hasTokenBucket: true,
  },
];

const isStatus = (r: AttemptResult, statuses: readonly number[]): boolean => r.kind === 'response' && statuses.includes(r.status);
const retryAfterMs = (r: AttemptResult): number | undefined => (r.kind === 'response' && r.retryAfterSec !== undefined ? 1_000 * r.retryAfterSec : undefined);
/** The live experiment's per-attempt timeout for every library (bench/storm/retrying-client.ts). */
const LIBRARY_TIMEOUT_MS = 1_000;

/**
 * The npm libraries of the live tight-concurrency experiment (bench/storm/retrying-client.ts), one
 * process each, at their default retry policies with a 1 s per-attempt timeout, as their sources
 * (got 16, ky 1.14, undici 7 RetryAgent, p-retry 7, axios-retry 4) behave. Behind a proxy a
 * backend's reset reaches the client as a 502, so `network` here is mostly a refused connection.
 */
export const LIBRARY_CLIENT_POLICIES: readonly ClientPolicy[] = [
  {
    // backoff honouring Retry-After: limit 2; timeouts, network errors, 408/413/429/5xx; a
    // Retry-After above its request timeout means no retry at all; else 1 s x 2^n + up to 100 ms
    name: 'got',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 3,
    isRetryable: (r) => (r.kind !== 'response' || isStatus(r, [408, 413, 429, 500, 502, 503, 504, 521, 522, 524])) && (retryAfterMs(r) ?? 0) <= LIBRARY_TIMEOUT_MS,
    delayMs: (r, attempt, rng) => retryAfterMs(r) ?? 1_000 * 2 ** (attempt - 1) + 100 * rng.next(),
    hasTokenBucket: false,
  },
  {
    // backoff honouring Retry-After (on 413/429/503, uncapped): limit 2; network errors and
    // 408/413/429/500/502/503/504, not its own timeout; else 0.3 s x 2^n
    name: 'ky',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 3,
    isRetryable: (r) => r.kind === 'network' || isStatus(r, [408, 413, 429, 500, 502, 503, 504]),
    delayMs: (r, attempt) => retryAfterMs(r) ?? 300 * 2 ** (attempt - 1),
    hasTokenBucket: false,
  },
  {
    // RetryAgent: 5 retries on 429/500/502/503/504 and connection errors, not its headers timeout;
    // Retry-After honoured (capped at 30 s), else 0.5 s x 2^n
    name: 'undici-retry',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 6,
    isRetryable: (r) => r.kind === 'network' || isStatus(r, [429, 500, 502, 503, 504]),
    delayMs: (r, attempt) => Math.min(30_000, retryAfterMs(r) ?? 500 * 2 ** (attempt - 1)),
    hasTokenBucket: false,
  },
  {
    // backoff without Retry-After: p-retry around fetch, 3 retries, throw on 5xx/429; every
    // failure retried, the timeout included; 1 s x 2^n, no jitter
    name: 'p-retry-fetch',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 4,
    isRetryable: isServerError,
    delayMs: (_r, attempt) => 1_000 * 2 ** (attempt - 1),
    hasTokenBucket: false,
  },
  {
    // immediate retries: 3, on network errors and 5xx/429 of idempotent requests, not timeouts
    name: 'axios-retry',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 4,
    isRetryable: (r) => r.kind === 'network' || (r.kind === 'response' && (r.status >= 500 || r.status === 429)),
    delayMs: () => 0,
    hasTokenBucket: false,
  },
  {
    // no retries: fetch with a timeout
    name: 'plain-fetch',
    share: 1 / 6,
    timeoutMs: LIBRARY_TIMEOUT_MS,
    maxAttempts: 1,
    isRetryable: () => false,
    delayMs: () => 0,
    hasTokenBucket: false,
  },
];

/** The AWS SDKs' retry quota: 500 tokens, a retry costs 5 (10 after a timeout), a success refunds. */
export class RetryQuota {
  static readonly CAPACITY = 500;
  static readonly RETRY_COST = 5;
  static readonly TIMEOUT_COST = 10;
  static readonly SUCCESS_INCREMENT = 1;
  #tokens = RetryQuota.CAPACITY;

  /** Tokens taken for a retry after this result, or undefined when the quota is exhausted. */
  tryAcquire(result: AttemptResult): number | undefined {
    const cost = result.kind === 'timeout' ? RetryQuota.TIMEOUT_COST : RetryQuota.RETRY_COST;
    if (this.#tokens < cost) return undefined;
    this.#tokens -= cost;
    return cost;
  }

  /** A request succeeded: a retried one gives back what its last retry took, a first try adds one. */
  onSuccess(lastRetryCost: number): void {
    const refund = lastRetryCost > 0 ? lastRetryCost : RetryQuota.SUCCESS_INCREMENT;
    this.#tokens = Math.min(RetryQuota.CAPACITY, this.#tokens + refund);
  }
}

/** Process i of n gets a policy by cumulative share, so the mix is exact and needs no randomness. */
export function policyOfProcess(index: number, processes: number, policies: readonly ClientPolicy[] = CLIENT_POLICIES): ClientPolicy {
  const position = (index + 0.5) / processes;
  let cumulative = 0;
  for (const policy of policies) {
    cumulative += policy.share;
    if (position < cumulative) return policy;
  }
  return policies[policies.length - 1] as ClientPolicy;
}
