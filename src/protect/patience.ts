// The clients' patience, learned rather than configured: how long a client waits before it gives
// up on an attempt, observed from client disconnects. A queue deadline below it keeps Sibyl from
// serving requests nobody waits for any more (HAProxy's tuning rule, learned). The simulator uses
// this same estimator.
//
// Disconnects are not all give-ups. A load generator closing its 256 connections at the end of a
// run, a browser navigating away, a client whose answer could not have come yet: none of them says
// how long a client waits for an answer, and each once lowered the deadline from 1 s to 58 ms and
// shed a healthy backend's next load. So:
// - a burst of disconnects within BURST_MS is one sample (one event closed them all);
// - a give-up shorter than the backend's current latency says nothing (no answer was possible);
// - each client counts once (its latest give-up), and the deadline moves off its default only
//   when MIN_CLIENTS distinct clients have given up recently;
// - the deadline never goes below FLOOR_LATENCIES x the backend's current latency: a queue that
//   cannot hold a request for a few service times serves nobody.

/** Clients remembered (their latest give-up each); the least recently heard from fall out. */
const MAX_CLIENTS = 256;
/** Give-ups older than this are forgotten: the estimate follows the clients of now. */
const MAX_AGE_MS = 5 * 60_000;
/** Disconnects closer together than this are one event (a client closing its pool, a process exiting). */
const BURST_MS = 20;
/** Distinct clients needed before their give-ups move the deadline. */
const MIN_CLIENTS = 3;
/**
 * The impatient tail, not the mean: with clients of 1 s and 2 s timeouts mixed, a deadline from
 * the mean would let the 1 s clients give up in the queue.
 */
const TAIL_QUANTILE = 0.1;
/**
 * A quarter of the tail is left for the service time after the wait. Half (the first choice) shed
 * requests that would have been served in time: in the simulator's load spike it cost 3 % of the
 * capacity and 0.1 more client attempts per request (sim/storm, seeds 1-3).
 */
const DEADLINE_SHARE = 0.75;
/** The deadline is at least this many backend latencies. */
const FLOOR_LATENCIES = 4;
/** The shortest deadline: below it a queue could not hold a request through one event-loop turn. */
const MIN_DEADLINE_MS = 20;

/**
 * How long a backend takes without queueing: its concurrency limiter's no-load latency when it has
 * one, else its latency EWMA. Under overload the EWMA holds the backend's own queueing too, and a
 * floor or a threshold from it would stop the deadline from doing its work exactly when it must.
 */
export function serviceLatencyMs(backend: { readonly limiter?: { readonly baselineMs: number } | undefined; readonly latencyEwmaMs: number }): number {
  const baseline = backend.limiter?.baselineMs;
  return baseline !== undefined && Number.isFinite(baseline) ? baseline : backend.latencyEwmaMs;
}

export interface GiveUp {
  /** How long the client waited before it left. */
  readonly waitedMs: number;
  /** Who gave up: the client key, or the client's address. */
  readonly client: string;
  readonly nowMs: number;
  /** The service latency (serviceLatencyMs) of the backend that served, or would have served, the request. */
  readonly backendLatencyMs: number;
}

/** What a disconnect was taken for: a sample of patience, or why not. */
export type GiveUpVerdict = 'sample' | 'burst' | 'too_early';

interface Sample {
  readonly waitedMs: number;
  readonly atMs: number;
}

export class PatienceEstimator {
  readonly #defaultMs: number;
  /** Insertion order is recency: a client heard from again moves to the end. */
  readonly #byClient = new Map<string, Sample>();
  #burstStartMs = Number.NEGATIVE_INFINITY;
  #samples = 0;
  #tailMs = Number.NaN;
  #clientsInTail = 0;
  #isStale = false;
  #oldestAtMs = Number.POSITIVE_INFINITY;

  constructor(defaultMs: number) {
    this.#defaultMs = defaultMs;
  }

  /** Give-ups taken as samples, since the start. */
  get samples(): number {
    return this.#samples;
  }

  /** A client disconnected before its answer; returns what it was taken for (a sample, or why not). */
  observe(g: GiveUp): GiveUpVerdict {
    // a burst is timed from its first disconnect: a steady stream of give-ups still gives one sample per BURST_MS
    if (g.nowMs - this.#burstStartMs < BURST_MS) return 'burst';
    this.#burstStartMs = g.nowMs;
    if (!(g.waitedMs > 0) || g.waitedMs < g.backendLatencyMs) return 'too_early';
    this.#samples++;
    this.#byClient.delete(g.client);
    this.#byClient.set(g.client, { waitedMs: g.waitedMs, atMs: g.nowMs });
    if (this.#byClient.size > MAX_CLIENTS) this.#byClient.delete(this.#byClient.keys().next().value as string);
    this.#oldestAtMs = Math.min(this.#oldestAtMs, g.nowMs);
    this.#isStale = true;
    return 'sample';
  }

  /**
   * The queue deadline: three quarters of the impatient tail of recent give-ups of at least
   * MIN_CLIENTS clients, at least FLOOR_LATENCIES x backendLatencyMs, at most maxMs; the default
   * (at most maxMs) until enough clients have given up.
   */
  deadlineMs(maxMs: number, backendLatencyMs: number, nowMs: number): number {
    this.#forgetOlderThan(nowMs - MAX_AGE_MS);
    if (this.#isStale) this.#recompute();
    const floorMs = Math.max(MIN_DEADLINE_MS, FLOOR_LATENCIES * backendLatencyMs);
    const learnedMs = this.#clientsInTail >= MIN_CLIENTS ? DEADLINE_SHARE * this.#tailMs : this.#defaultMs;
    return Math.min(maxMs, Math.max(floorMs, learnedMs));
  }

  #forgetOlderThan(cutoffMs: number): void {
    if (this.#oldestAtMs >= cutoffMs) return;
    this.#oldestAtMs = Number.POSITIVE_INFINITY;
    for (const [client, s] of this.#byClient) {
      if (s.atMs < cutoffMs) this.#byClient.delete(client);
      else this.#oldestAtMs = Math.min(this.#oldestAtMs, s.atMs);
    }
    this.#isStale = true;
  }

  #recompute(): void {
    // sorting at most 256 numbers happens only after a give-up, never per request
    const sorted = Float64Array.from(this.#byClient.values(), (s) => s.waitedMs).sort();
    this.#clientsInTail = sorted.length;
    this.#tailMs = sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(TAIL_QUANTILE * sorted.length))] as number);
    this.#isStale = false;
  }
}
