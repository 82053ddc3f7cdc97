// The RateLimit and RateLimit-Policy response fields of draft-ietf-httpapi-ratelimit-headers
// (-08 and later): Structured Field lists with the policy name as a quoted string.
//   RateLimit-Policy: "per-ip";q=20;w=2     quota q tokens, replenished over w seconds
//   RateLimit: "per-ip";r=0;t=1             r tokens remaining, t seconds until one is back
// A token bucket of rate R and burst B maps to q = B and w = ceil(B / R).
import type { BucketShape } from './token-bucket.ts';

export function rateLimitPolicyField(name: string, shape: BucketShape): string {
  const windowSeconds = Math.max(1, Math.ceil(shape.burst / shape.ratePerMs / 1000));
  return `"${name}";q=${shape.burst};w=${windowSeconds}`;
}

export function rateLimitField(name: string, remaining: number, resetSeconds: number): string {
  return `"${name}";r=${Math.max(0, remaining)};t=${Math.max(0, resetSeconds)}`;
}

/** Retry-After in whole seconds (RFC 9110 delay-seconds), never 0 for a refused request. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
