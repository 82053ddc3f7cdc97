// The service behind the simulated balancer: a few routes, each with its own latency, request and
// response sizes and ordinary (non-fault) status mix.
import type { Rng } from '../src/core/rng.ts';
import { logNormal, pickWeighted, uniform } from './random.ts';

export interface RouteSpec {
  readonly route: string;
  readonly method: string;
  /** Share of a typical client's requests. */
  readonly weight: number;
  readonly latencyMedianMs: number;
  readonly latencySigma: number;
  readonly requestBodyBytes: readonly [number, number];
  readonly responseBodyMedianBytes: number;
  /** Statuses of a healthy backend, with weights. */
  readonly statuses: readonly (readonly [number, number])[];
  /** A GET whose result changes over time: pollers repeat it. */
  readonly isPollable: boolean;
  /** Whether the rate limiter's 429 on this route carries Retry-After (configured per route). */
  readonly hasLimiterRetryAfter: boolean;
}

export const ROUTES: readonly RouteSpec[] = [
  { route: '/api/orders', method: 'GET', weight: 3, latencyMedianMs: 60, latencySigma: 0.5, requestBodyBytes: [0, 0], responseBodyMedianBytes: 4_000, statuses: [[200, 0.97], [401, 0.02], [404, 0.01]], isPollable: true, hasLimiterRetryAfter: true },
  { route: '/api/users/:id', method: 'GET', weight: 3, latencyMedianMs: 30, latencySigma: 0.4, requestBodyBytes: [0, 0], responseBodyMedianBytes: 1_200, statuses: [[200, 0.95], [404, 0.05]], isPollable: true, hasLimiterRetryAfter: true },
  { route: '/api/search', method: 'GET', weight: 2, latencyMedianMs: 150, latencySigma: 0.7, requestBodyBytes: [0, 0], responseBodyMedianBytes: 9_000, statuses: [[200, 0.97], [400, 0.03]], isPollable: true, hasLimiterRetryAfter: false },
  { route: '/static/app.js', method: 'GET', weight: 2, latencyMedianMs: 5, latencySigma: 0.5, requestBodyBytes: [0, 0], responseBodyMedianBytes: 180_000, statuses: [[200, 0.7], [304, 0.3]], isPollable: false, hasLimiterRetryAfter: false },
  { route: '/api/pay', method: 'POST', weight: 1, latencyMedianMs: 250, latencySigma: 0.5, requestBodyBytes: [300, 2_000], responseBodyMedianBytes: 600, statuses: [[201, 0.95], [402, 0.03], [409, 0.02]], isPollable: false, hasLimiterRetryAfter: true },
];

export function ordinaryStatus(rng: Rng, route: RouteSpec): number {
  return pickWeighted(rng, route.statuses);
}

export function requestBytes(rng: Rng, route: RouteSpec, headerBytes: number): number {
  const [lo, hi] = route.requestBodyBytes;
  return Math.round(headerBytes + (hi > 0 ? uniform(rng, lo, hi) : 0));
}

/** Response headers plus body: a full body on success, Sibyl's or the backend's small JSON error otherwise. */
export function responseBytes(rng: Rng, route: RouteSpec, status: number): number {
  if (status === 0) return 0; // the client went away before anything was sent
  const headers = Math.round(uniform(rng, 180, 420));
  if (status === 304) return headers;
  if (status >= 200 && status < 300) return headers + Math.round(logNormal(rng, route.responseBodyMedianBytes, 0.4));
  return headers + Math.round(uniform(rng, 60, 220));
}
