// Sibyl's own retries, safe by construction (STYLE.md habit 7): only a retryable outcome, an
// idempotent method (or an allowed Idempotency-Key), a replayable body, a response not yet
// started, tries left, another backend to try, and the budget allows. Every "no" has a reason,
// counted in sibyl_retry_decisions_total.
import type { ErrorKind } from '../core/outcome.ts';
import type { Rng } from '../core/rng.ts';
import { backoffDelayMs, type BackoffOptions } from './backoff.ts';
import type { RetryBudget } from './retry-budget.ts';

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export const NoRetryReason = {
  success: 'success',
  notRetryableOutcome: 'not_retryable_outcome',
  methodNotIdempotent: 'method_not_idempotent',
  bodyNotReplayable: 'body_not_replayable',
  responseStarted: 'response_started',
  maxRetries: 'max_retries',
  noOtherBackend: 'no_other_backend',
  budgetExhausted: 'budget_exhausted',
} as const;
export type NoRetryReason = (typeof NoRetryReason)[keyof typeof NoRetryReason];

export interface RetryPolicyOptions {
  readonly maxRetries: number;
  readonly retryOnStatuses: ReadonlySet<number>;
  /** Transport failures that may be retried: before any byte reached the backend, or always for idempotent requests. */
  readonly retryOnErrorKinds: ReadonlySet<ErrorKind>;
  readonly backoff: BackoffOptions;
}

export interface AttemptFacts {
  readonly method: string;
  /** An Idempotency-Key header matched the allow-list ([retry] idempotency_key_header present). */
  readonly hasIdempotencyKey: boolean;
  readonly isBodyReplayable: boolean;
  readonly isResponseStarted: boolean;
  readonly status: number;
  readonly errorKind: ErrorKind;
  /** Retries already made for this request. */
  readonly retriesSoFar: number;
  readonly hasOtherBackend: boolean;
}

export type RetryDecision = { readonly shouldRetry: true; readonly delayMs: number } | { readonly shouldRetry: false; readonly reason: NoRetryReason };

export function isRetryableOutcome(facts: AttemptFacts, options: RetryPolicyOptions): boolean {
  if (facts.errorKind !== 'none') return options.retryOnErrorKinds.has(facts.errorKind);
  return options.retryOnStatuses.has(facts.status);
}

export function decideRetry(facts: AttemptFacts, options: RetryPolicyOptions, budget: RetryBudget, now: number, rng: Rng): RetryDecision {
  const no = (reason: NoRetryReason): RetryDecision => ({ shouldRetry: false, reason });
  if (facts.errorKind === 'none' && facts.status < 500 && !options.retryOnStatuses.has(facts.status)) return no(NoRetryReason.success);
  if (!isRetryableOutcome(facts, options)) return no(NoRetryReason.notRetryableOutcome);
  // a connection that was refused never reached the backend: safe for any method
  const isNeverSent = facts.errorKind === 'refused' || facts.errorKind === 'connect_timeout';
  if (!isNeverSent && !IDEMPOTENT_METHODS.has(facts.method) && !facts.hasIdempotencyKey) return no(NoRetryReason.methodNotIdempotent);
  if (!facts.isBodyReplayable) return no(NoRetryReason.bodyNotReplayable);
  if (facts.isResponseStarted) return no(NoRetryReason.responseStarted);
  if (facts.retriesSoFar >= options.maxRetries) return no(NoRetryReason.maxRetries);
  if (!facts.hasOtherBackend) return no(NoRetryReason.noOtherBackend);
  // the budget is asked last, so a token is spent only on a retry that will really be made
  if (!budget.tryWithdraw(now)) return no(NoRetryReason.budgetExhausted);
  return { shouldRetry: true, delayMs: backoffDelayMs(facts.retriesSoFar, options.backoff, rng) };
}
