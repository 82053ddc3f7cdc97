// One backend's live state and its upstream connection pool. Survives config generations
// while its name and address stay the same, so health and EWMAs are not lost on reload.
import { Pool } from 'undici';
import type { Candidate } from '../balancer/balancer.ts';
import { decayFactor, ewmaUpdate, peakEwmaUpdate } from '../core/ewma.ts';
import { isServerFailure, type Outcome } from '../core/outcome.ts';
import type { ConcurrencyLimiter } from '../protect/concurrency-limiter.ts';
import { tlsConnectOptions, type UpstreamTls } from './upstream-tls.ts';

export interface BackendSpec {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

export interface UpstreamPoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** TLS to the backend ([upstream_tls]); undefined: cleartext. */
  readonly tls: UpstreamTls | undefined;
}

/** Turning [upstream_tls] on or off makes a new Backend (a new pool), as a changed address does. */
export function backendKey(spec: { name: string; host: string; port: number }, isTls = false): string {
  return `${spec.name}|${isTls ? 'https://' : ''}${spec.host}:${spec.port}`;
}

export class Backend implements Candidate {
  readonly id: string;
  readonly key: string;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly pool: Pool;
  /** Name of the traffic pool ([[pools]]) the backend belongs to in the current generation. */
  poolName = 'default';
  /** TLS to this backend; the gRPC path (node:http2) connects with it too. */
  readonly tls: UpstreamTls | undefined;
  /** [proxy] response_header_timeout, for the gRPC and WebSocket paths (the pool applies it itself). */
  readonly headersTimeoutMs: number;
  /** The optional numeric `[[backends]] id` (the seed's layout): carried along and shown, never an identity. */
  configId: number | undefined;
  /** [proxy] connect_timeout, for the WebSocket path (the pool applies it itself). */
  readonly connectTimeoutMs: number;
  weight: number;
  effectiveWeight: number;
  inFlight = 0;
  isHealthy = true;
  isEjected = false;
  isDraining = false;
  /** Adaptive concurrency limit ([load_shedding]); undefined when load shedding is off. */
  limiter: ConcurrencyLimiter | undefined;
  /** When the backend last became healthy (for slow start); -Infinity when it always was. */
  healthySinceMs = -Infinity;
  // One time base per estimate: a failure is a sample of the error EWMA only.
  #lastSampleMs = -Infinity;
  #lastLatencySampleMs = -Infinity;
  /** Half-life of the EWMAs: its pool's [strategy] ewma_half_life, set by each generation (build-pools.ts). */
  ewmaHalfLifeMs = 10_000;
  #latencyEwmaMs = 0;
  #errorEwma = 0;
  // The retry model's predictions for this backend's answers (client-facing, final attempts only)
  #predictedRetryEwma = 0;
  #predictedRetryOnFailureEwma = 0;
  #lastPredictionMs = -Infinity;
  #lastFailurePredictionMs = -Infinity;
  readonly #now: () => number;

  /** `now` is the clock that recordOutcome is given too. */
  constructor(spec: BackendSpec, poolOptions: UpstreamPoolOptions, now: () => number) {
    this.#now = now;
    this.id = spec.name;
    this.key = backendKey(spec, poolOptions.tls !== undefined);
    this.tls = poolOptions.tls;
    this.headersTimeoutMs = poolOptions.headersTimeoutMs;
    this.connectTimeoutMs = poolOptions.connectTimeoutMs;
    this.host = spec.host;
    this.port = spec.port;
    this.address = spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
    this.weight = spec.weight;
    this.effectiveWeight = spec.weight;
    const tls = poolOptions.tls === undefined ? {} : tlsConnectOptions(poolOptions.tls, spec.host);
    this.pool = new Pool(`${poolOptions.tls === undefined ? 'http' : 'https'}://${this.address}`, {
      connections: poolOptions.connections,
      connect: { timeout: poolOptions.connectTimeoutMs, ...tls },
      headersTimeout: poolOptions.headersTimeoutMs,
      bodyTimeout: poolOptions.bodyTimeoutMs,
      keepAliveTimeout: poolOptions.keepAliveTimeoutMs,
      // pipelining 1: one request per connection at a time; a slow response never blocks another
      pipelining: 1,
    });
  }

  // Both estimates fade towards 0 while no sample arrives (Finagle's and Linkerd's peak EWMA decay
  // on read). Without it a backend that a strategy stops picking after one slow or failed response
  // never gets the sample that would clear its record, and is starved until restart.

  /** Peak-EWMA of response latency in ms, decayed since its last sample. */
  get latencyEwmaMs(): number {
    return this.#latencyEwmaMs * this.#decaySince(this.#lastLatencySampleMs);
  }

  /** EWMA of the failure indicator, decayed since its last sample. */
  get errorEwma(): number {
    return this.#errorEwma * this.#decaySince(this.#lastSampleMs);
  }

  /** EWMA of the predicted probability that a client retries an answer of this backend (0 without a model). */
  get predictedRetryEwma(): number {
    return this.#predictedRetryEwma * this.#decaySince(this.#lastPredictionMs);
  }

  /** The same, over failed answers only: how much client retry traffic each failure here brings. */
  get predictedRetryOnFailure(): number {
    return this.#predictedRetryOnFailureEwma * this.#decaySince(this.#lastFailurePredictionMs);
  }

  /** Feeds the predicted-retry EWMAs with the model's prediction for one answer this backend gave. */
  recordPrediction(prediction: number, outcome: Outcome, nowMs: number): void {
    const halfLifeMs = this.ewmaHalfLifeMs;
    const elapsedSince = (sampleMs: number): number => (sampleMs === -Infinity ? halfLifeMs * 10 : nowMs - sampleMs);
    this.#predictedRetryEwma = ewmaUpdate(this.#predictedRetryEwma, prediction, elapsedSince(this.#lastPredictionMs), halfLifeMs);
    this.#lastPredictionMs = nowMs;
    if (isServerFailure(outcome)) {
      this.#predictedRetryOnFailureEwma = ewmaUpdate(this.#predictedRetryOnFailureEwma, prediction, elapsedSince(this.#lastFailurePredictionMs), halfLifeMs);
      this.#lastFailurePredictionMs = nowMs;
    }
  }

  #decaySince(sampleMs: number): number {
    return sampleMs === -Infinity ? 1 : decayFactor(this.#now() - sampleMs, this.ewmaHalfLifeMs);
  }

  /** Feeds the latency and error EWMAs that strategies read. */
  recordOutcome(outcome: Outcome, nowMs: number): void {
    const halfLifeMs = this.ewmaHalfLifeMs;
    // before the first sample, as if the last one was long ago: the first sample sets the estimate
    const elapsedSince = (sampleMs: number): number => (sampleMs === -Infinity ? halfLifeMs * 10 : nowMs - sampleMs);
    const failed = isServerFailure(outcome) ? 1 : 0;
    this.#errorEwma = ewmaUpdate(this.#errorEwma, failed, elapsedSince(this.#lastSampleMs), halfLifeMs);
    this.#lastSampleMs = nowMs;
    if (failed === 0) {
      this.#latencyEwmaMs = peakEwmaUpdate(this.#latencyEwmaMs, outcome.latencyMs, elapsedSince(this.#lastLatencySampleMs), halfLifeMs);
      this.#lastLatencySampleMs = nowMs;
    }
  }

  toJSON() {
    return {
      name: this.id,
      ...(this.configId === undefined ? {} : { id: this.configId }),
      address: this.address,
      weight: this.weight,
      effectiveWeight: this.effectiveWeight,
      isHealthy: this.isHealthy,
      isEjected: this.isEjected,
      isDraining: this.isDraining,
      inFlight: this.inFlight,
      latencyEwmaMs: Math.round(this.latencyEwmaMs * 100) / 100,
      errorEwma: Math.round(this.errorEwma * 1000) / 1000,
      predictedRetry: Math.round(this.predictedRetryEwma * 1000) / 1000,
      pool: this.poolName,
    };
  }
}
