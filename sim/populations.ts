// Who sends the traffic: populations of clients with different retry behaviour. The population is
// never written into an event; the model has to infer it from the user-agent family (distributions
// overlap on purpose) and from the client's own labelled history. Two populations follow the
// documented defaults of common client libraries, so that the shipped prior knows them before the
// first label: 'idempotent-only' (got, ky, axios-retry, undici's RetryAgent: 408/429/5xx and
// connection errors of idempotent methods, 2 to 5 retries, never a POST) and 'sdk' (the AWS SDKs'
// standard strategy and SDKs like it: throttling, 5xx and transient errors of every call, POSTs
// included, 2 retries with jittered exponential backoff).
import type { Rng } from '../src/core/rng.ts';
import type { ServedOutcome } from './backends.ts';
import { chance, logUniform, pickWeighted, randomHex16, uniform } from './random.ts';
import { ROUTES } from './routes.ts';

export type PopulationName = 'aggressive' | 'network-only' | 'never' | 'retry-after' | 'idempotent-only' | 'sdk';

export interface Population {
  readonly name: PopulationName;
  /** Share of clients. */
  readonly share: number;
  /** User-agent families as src/telemetry/user-agent.ts names them. */
  readonly userAgents: readonly (readonly [string, number])[];
  /** The client's own timeout, drawn per client. */
  readonly timeoutMs: readonly [number, number];
  readonly maxRetries: number;
  /** Chance that a retry the client would make is dropped (the user left, the job died), drawn per client. */
  readonly giveUpRate: readonly [number, number];
  /** Share of the population's clients that poll ('never' only). */
  readonly pollerShare: number;
}

export const POPULATIONS: readonly Population[] = [
  { name: 'aggressive', share: 0.2, userAgents: [['python', 0.35], ['go', 0.2], ['node', 0.2], ['java', 0.15], ['curl', 0.1]], timeoutMs: [10_000, 30_000], maxRetries: 3, giveUpRate: [0, 0.1], pollerShare: 0 },
  { name: 'network-only', share: 0.15, userAgents: [['okhttp', 0.4], ['java', 0.25], ['go', 0.2], ['node', 0.15]], timeoutMs: [1_500, 3_000], maxRetries: 2, giveUpRate: [0, 0.15], pollerShare: 0 },
  // axios, Node's fetch and clients that send no User-Agent (undici, node:http) retry nothing by default
  { name: 'never', share: 0.3, userAgents: [['browser', 0.35], ['curl', 0.1], ['python', 0.15], ['node', 0.2], ['axios', 0.1], ['none', 0.1]], timeoutMs: [20_000, 60_000], maxRetries: 0, giveUpRate: [0, 0], pollerShare: 0.4 },
  { name: 'retry-after', share: 0.15, userAgents: [['go', 0.3], ['java', 0.3], ['python', 0.2], ['okhttp', 0.1], ['node', 0.1]], timeoutMs: [30_000, 60_000], maxRetries: 3, giveUpRate: [0, 0.1], pollerShare: 0 },
  { name: 'idempotent-only', share: 0.12, userAgents: [['got', 0.45], ['node', 0.3], ['axios', 0.15], ['none', 0.1]], timeoutMs: [10_000, 60_000], maxRetries: 2, giveUpRate: [0, 0.05], pollerShare: 0 },
  { name: 'sdk', share: 0.08, userAgents: [['aws', 0.7], ['node', 0.15], ['python', 0.15]], timeoutMs: [10_000, 60_000], maxRetries: 2, giveUpRate: [0, 0.05], pollerShare: 0 },
];

/** RFC 9110's idempotent methods: the ones 'idempotent-only' libraries retry. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

export interface SimClient {
  readonly clientKey: string;
  readonly population: Population;
  readonly userAgentFamily: string;
  /** Fresh (non-repeated) requests per second, before surges. */
  readonly ratePerSec: number;
  readonly timeoutMs: number;
  /** Request line and headers: user agents, cookies and tokens differ in size. */
  readonly headerBytes: number;
  /** Per-client route mix, as weights over ROUTES. */
  readonly routeWeights: readonly (readonly [number, number])[];
  readonly giveUpRate: number;
  readonly isPoller: boolean;
  /** Share of a poller's pollable requests that it keeps polling (a dashboard polls, a search does not). */
  readonly pollShare: number;
  readonly pollPeriodMs: number;
}

const MIN_RATE_PER_SEC = 0.05;
const MAX_RATE_PER_SEC = 1;
/** Pollers repeat a request until a failure or until they lose interest (mean ~6 polls). */
const POLL_CONTINUE_RATE = 0.85;
const POLLER_RATE_SCALE = 0.3;
const DUPLICATE_RATE = 0.005;

export function createClients(rng: Rng, count: number): SimClient[] {
  const shares = POPULATIONS.map((p) => [p, p.share] as const);
  return Array.from({ length: count }, () => {
    const population = pickWeighted(rng, shares);
    const isPoller = chance(rng, population.pollerShare);
    return {
      clientKey: randomHex16(rng),
      population,
      userAgentFamily: pickWeighted(rng, population.userAgents),
      ratePerSec: logUniform(rng, MIN_RATE_PER_SEC, MAX_RATE_PER_SEC) * (isPoller ? POLLER_RATE_SCALE : 1),
      timeoutMs: Math.round(uniform(rng, population.timeoutMs[0], population.timeoutMs[1])),
      headerBytes: Math.round(uniform(rng, 250, 900)),
      routeWeights: ROUTES.map((r, i) => [i, r.weight * uniform(rng, 0.2, 1.8)] as const),
      giveUpRate: uniform(rng, population.giveUpRate[0], population.giveUpRate[1]),
      isPoller,
      pollShare: uniform(rng, 0.3, 1),
      pollPeriodMs: uniform(rng, 5_000, 20_000),
    };
  });
}

/** Average fresh request rate of a set of clients, to size the rate limiter. */
export function totalRatePerSec(clients: readonly SimClient[]): number {
  return clients.reduce((sum, c) => sum + c.ratePerSec, 0);
}

function isTransportFailure(o: ServedOutcome): boolean {
  return o.errorKind !== 'none';
}

/**
 * How long after the response the client sends the same request again, or undefined when it does
 * not. `retries` is how many retries this logical request has had so far.
 */
export function retryDelayMs(rng: Rng, client: SimClient, method: string, o: ServedOutcome, retries: number): number | undefined {
  const p = client.population;
  if (retries >= p.maxRetries) return undefined;
  let delay: number | undefined;
  switch (p.name) {
    case 'aggressive':
      // full jitter over an exponential ceiling: 200, 400, 800 ms
      if (o.status === 429 || o.status >= 500 || isTransportFailure(o)) delay = rng.next() * 200 * 2 ** retries;
      break;
    case 'network-only':
      // a POST is retried only when the connection was never made: the server cannot have acted on it
      if (isTransportFailure(o) && (method === 'GET' || o.errorKind === 'refused')) delay = uniform(rng, 500, 1_500);
      break;
    case 'retry-after':
      if (o.status === 429 || o.status === 503) delay = o.retryAfterSec !== undefined ? o.retryAfterSec * 1000 + uniform(rng, 0, 1_000) : uniform(rng, 1_000, 3_000);
      break;
    case 'idempotent-only':
      // got: ~1 s, 2 s, or Retry-After when it is sooner than the library's cap
      if (IDEMPOTENT_METHODS.has(method) && (o.status === 408 || o.status === 429 || o.status >= 500 || isTransportFailure(o))) {
        delay = o.retryAfterSec !== undefined && o.retryAfterSec <= 20 ? o.retryAfterSec * 1000 : 1000 * 2 ** retries + uniform(rng, 0, 100);
      }
      break;
    case 'sdk':
      // full jitter over min(20 s, 100 ms x 2^n)
      if (o.status === 429 || o.status >= 500 || isTransportFailure(o)) delay = rng.next() * Math.min(20_000, 100 * 2 ** (retries + 1));
      break;
    case 'never':
      break;
  }
  if (delay === undefined || chance(rng, client.giveUpRate)) return undefined;
  return delay;
}

/** After a success, a poller asks the same thing again after its period (jittered), or stops. */
export function pollDelayMs(rng: Rng, client: SimClient, o: ServedOutcome): number | undefined {
  if (!client.isPoller || o.errorKind !== 'none' || o.status < 200 || o.status >= 300) return undefined;
  if (!chance(rng, POLL_CONTINUE_RATE)) return undefined;
  return client.pollPeriodMs * uniform(rng, 0.9, 1.1);
}

/**
 * Anyone sometimes asks for the same thing twice (a reload, a double click, a job re-run): rare,
 * unpredictable positives that no feature explains.
 */
export function duplicateDelayMs(rng: Rng, method: string, o: ServedOutcome): number | undefined {
  if (method !== 'GET' || o.status < 200 || o.status >= 300 || !chance(rng, DUPLICATE_RATE)) return undefined;
  return uniform(rng, 500, 45_000);
}

export function pickRoute(rng: Rng, client: SimClient): number {
  return pickWeighted(rng, client.routeWeights);
}
