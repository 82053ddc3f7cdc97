// The balancing and defence policies compared. Every one is assembled from Sibyl's own modules
// (strategies, outlier detector, eligibility, retry policy and budget, concurrency limiter); a
// baseline is those modules configured the way the named proxy behaves by default or when tuned.
import type { Algorithm } from '../../src/balancer/balancer.ts';
import type { OutlierDetectorOptions } from '../../src/health/outlier-detector.ts';
import type { RetryBudgetOptions } from '../../src/retry/retry-budget.ts';
import type { RetryPolicyOptions } from '../../src/retry/retry-policy.ts';

export const PolicyNames = ['round_robin', 'nginx-like', 'envoy-like', 'haproxy-tuned', 'sibyl'] as const;
export type PolicyName = (typeof PolicyNames)[number];

export interface ProxyRetrySpec {
  readonly policy: RetryPolicyOptions;
  readonly budget: RetryBudgetOptions;
}

export interface PolicySpec {
  readonly name: PolicyName;
  readonly summary: string;
  readonly algorithm: Algorithm;
  readonly errorPenalty?: number;
  readonly outlier?: OutlierDetectorOptions;
  /** selectEligible's panic threshold; 0: when every backend is ejected, answer 502. */
  readonly panicThresholdPercent: number;
  readonly retry?: ProxyRetrySpec;
  /** HAProxy maxconn per server, set to the backends' true concurrency; excess waits in the proxy. */
  readonly isMaxConnTrueConcurrency: boolean;
  /** HAProxy `timeout queue`, fixed by the operator. */
  readonly queueTimeoutMs?: number;
  /** Sibyl: per-backend adaptive concurrency limit, queue deadline learned from client patience. */
  readonly isAdaptiveLimit: boolean;
  /** A client retry (recognised by client key and fingerprint) avoids the backend of its failed attempt. */
  readonly isRetryAware: boolean;
  /** Shed and queue-expired requests get 503 with a jittered Retry-After. */
  readonly hasRetryAfter: boolean;
}

/** Large enough never to refuse: NGINX and HAProxy retries have no budget. */
const UNLIMITED_BUDGET: RetryBudgetOptions = { ratio: 1_000, minRetriesPerSecond: 1e9, ttlMs: 10_000 };
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
const CONNECT_ERRORS = new Set(['refused', 'connect_timeout', 'reset'] as const);

/** Sibyl's [retry] and [outlier_detection] defaults (src/config/schema*.ts). */
const SIBYL_RETRY: ProxyRetrySpec = {
  policy: { maxRetries: 1, retryOnStatuses: GATEWAY_STATUSES, retryOnErrorKinds: CONNECT_ERRORS, backoff: { baseMs: 25, maxMs: 250 } },
  budget: { ratio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 },
};
const SIBYL_OUTLIER: OutlierDetectorOptions = { consecutive5xx: 5, consecutiveGatewayFailure: 5, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 50 };

export const POLICIES: Record<PolicyName, PolicySpec> = {
  round_robin: {
    name: 'round_robin',
    summary: 'round robin, no defences: client retries go straight through',
    algorithm: 'round_robin',
    panicThresholdPercent: 0,
    isMaxConnTrueConcurrency: false,
    isAdaptiveLimit: false,
    isRetryAware: false,
    hasRetryAfter: false,
  },
  'nginx-like': {
    name: 'nginx-like',
    summary: 'least_conn; max_fails=1 fail_timeout=10s; proxy_next_upstream error timeout http_502 http_503 http_504, tries 2',
    algorithm: 'least_connections',
    outlier: { consecutive5xx: 0, consecutiveGatewayFailure: 1, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 10_000, maxEjectionPercent: 100 },
    panicThresholdPercent: 0,
    retry: { policy: { maxRetries: 1, retryOnStatuses: GATEWAY_STATUSES, retryOnErrorKinds: CONNECT_ERRORS, backoff: { baseMs: 0, maxMs: 0 } }, budget: UNLIMITED_BUDGET },
    isMaxConnTrueConcurrency: false,
    isAdaptiveLimit: false,
    isRetryAware: false,
    hasRetryAfter: false,
  },
  'envoy-like': {
    name: 'envoy-like',
    summary: 'P2C; outlier detection (5 consecutive 5xx, 30 s); 1 retry on 5xx/connect failure, budget 20 %',
    algorithm: 'power_of_two',
    outlier: SIBYL_OUTLIER,
    panicThresholdPercent: 50,
    retry: SIBYL_RETRY,
    isMaxConnTrueConcurrency: false,
    isAdaptiveLimit: false,
    isRetryAware: false,
    hasRetryAfter: false,
  },
  'haproxy-tuned': {
    name: 'haproxy-tuned',
    summary: 'leastconn; maxconn = true backend concurrency; timeout queue 500 ms (< client timeout); abortonclose; observe layer7',
    algorithm: 'least_connections',
    outlier: { consecutive5xx: 10, consecutiveGatewayFailure: 0, baseEjectionTimeMs: 5_000, maxEjectionTimeMs: 5_000, maxEjectionPercent: 50 },
    panicThresholdPercent: 0,
    retry: { policy: { maxRetries: 3, retryOnStatuses: new Set<number>(), retryOnErrorKinds: new Set(['refused', 'connect_timeout'] as const), backoff: { baseMs: 1, maxMs: 1 } }, budget: UNLIMITED_BUDGET },
    isMaxConnTrueConcurrency: true,
    queueTimeoutMs: 500,
    isAdaptiveLimit: false,
    isRetryAware: false,
    hasRetryAfter: false,
  },
  sibyl: {
    name: 'sibyl',
    summary: 'adaptive; outlier detection; own retries with a 20 % budget; adaptive concurrency limit per backend; queue deadline from client patience; 503 + Retry-After',
    algorithm: 'adaptive',
    errorPenalty: 10,
    outlier: SIBYL_OUTLIER,
    panicThresholdPercent: 50,
    retry: SIBYL_RETRY,
    isMaxConnTrueConcurrency: false,
    isAdaptiveLimit: true,
    isRetryAware: true,
    hasRetryAfter: true,
  },
};
