// A client's own recent retry behaviour: per client key, response class, method group and attempt
// number (1-5, 6+), a decayed count of labels and of retries. A feature for the model, built only from labels
// already known (never the label of the attempt being scored). Bounded: least recently seen
// clients are evicted. Client libraries decide by exactly these: got, ky, axios-retry and undici's
// RetryAgent retry a 429 or a 5xx of a GET, PUT or DELETE but never of a POST, and each stops at
// its own limit (got and ky after 2 retries, the AWS SDKs after 2, undici after 5).
//
// Memory: a profile holds only the slots its client used (most use one to three of the 72), in an
// ordinary array on the JS heap. A Float32Array of every slot per client cost ~1.4 KB of RSS per
// client, outside the JS heap, and 100,000 of them (a flood of new client keys) neither went back
// to the OS after eviction nor stayed cheap to garbage-collect. A profile idle for `idleTtlMs`
// (its counts decayed to 1/16 by default) is forgotten by sweep(), oldest first.
import { decayFactor } from '../core/ewma.ts';

export type ResponseClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'error';
const RESPONSE_CLASSES: readonly ResponseClass[] = ['2xx', '3xx', '4xx', '429', '5xx', 'error'];

/** RFC 9110's idempotent methods: the ones client libraries retry by default. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
/** Attempts 1 to 5, and 6+: retry limits of common libraries are 2 (got, ky, AWS), 3 (axios-retry, urllib3), 5 (undici). */
const ATTEMPT_BUCKETS = 6;
const METHOD_GROUPS = 2;

/** Where a response's history is kept: response class x method group (idempotent or not) x attempt (1-5, 6+). */
export type HistorySlot = number;
export const HISTORY_SLOTS = RESPONSE_CLASSES.length * METHOD_GROUPS * ATTEMPT_BUCKETS;

export function historySlotOf(cls: ResponseClass, method: string | undefined, attempt: number | undefined): HistorySlot {
  const group = method === undefined || IDEMPOTENT_METHODS.has(method) ? 0 : 1;
  const a = attempt === undefined || !(attempt >= 1) ? 0 : Math.min(ATTEMPT_BUCKETS, Math.floor(attempt)) - 1;
  return (RESPONSE_CLASSES.indexOf(cls) * METHOD_GROUPS + group) * ATTEMPT_BUCKETS + a;
}

export function responseClassOf(status: number, isTransportError: boolean): ResponseClass {
  if (isTransportError || status === 0) return 'error';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

interface Profile {
  updatedAt: number;
  /** [slot, labels, retried] for each slot used, decayed together. */
  counts: number[];
}

/** A profile idle this many half-lives (counts at 1/16) is forgotten by sweep(), unless told otherwise. */
const IDLE_HALF_LIVES = 4;

export interface ClientRetryStats {
  readonly rate: number;
  readonly count: number;
}

const NO_HISTORY: ClientRetryStats = { rate: 0, count: 0 };

export class ClientProfiles {
  readonly #halfLifeMs: number;
  readonly #maxClients: number;
  readonly #idleTtlMs: number;
  /** In LRU order (observe re-inserts): the least recently seen client first. */
  readonly #profiles = new Map<string, Profile>();

  constructor(options: { halfLifeMs: number; maxClients: number; idleTtlMs?: number }) {
    this.#halfLifeMs = options.halfLifeMs;
    this.#maxClients = options.maxClients;
    this.#idleTtlMs = options.idleTtlMs ?? IDLE_HALF_LIVES * options.halfLifeMs;
  }

  get size(): number {
    return this.#profiles.size;
  }

  observe(clientKey: string, slot: HistorySlot, retried: 0 | 1, now: number): void {
    let p = this.#profiles.get(clientKey);
    if (p === undefined) {
      p = { updatedAt: now, counts: [] };
      if (this.#profiles.size >= this.#maxClients) {
        const oldest = this.#profiles.keys().next().value;
        if (oldest !== undefined) this.#profiles.delete(oldest);
      }
    } else {
      this.#profiles.delete(clientKey); // LRU order
      this.#decay(p, now);
    }
    let i = indexOf(p, slot);
    if (i < 0) i = p.counts.push(slot, 0, 0) - 3;
    p.counts[i + 1] = (p.counts[i + 1] as number) + 1;
    p.counts[i + 2] = (p.counts[i + 2] as number) + retried;
    this.#profiles.set(clientKey, p);
  }

  /**
   * Forgets the profiles idle longer than idleTtlMs, least recently seen first; stops at the first
   * one seen since (the rest were seen later), so its cost is the number forgotten.
   */
  sweep(now: number): void {
    for (const [key, p] of this.#profiles) {
      if (now - p.updatedAt <= this.#idleTtlMs) break;
      this.#profiles.delete(key);
    }
  }

  /**
   * A label observed as a provisional 0 turned out to be 1 (the retry came late): one more retry,
   * no new label.
   */
  correct(clientKey: string, slot: HistorySlot, now: number): void {
    const p = this.#profiles.get(clientKey);
    if (p === undefined) return;
    const i = indexOf(p, slot);
    if (i < 0) return;
    this.#decay(p, now);
    p.counts[i + 2] = (p.counts[i + 2] as number) + 1;
  }

  /** Smoothed toward 0 with a pseudo-count of 1, so one label is weak evidence. */
  stats(clientKey: string, slot: HistorySlot, now: number): ClientRetryStats {
    const p = this.#profiles.get(clientKey);
    if (p === undefined) return NO_HISTORY;
    const i = indexOf(p, slot);
    if (i < 0) return NO_HISTORY;
    const keep = decayFactor(now - p.updatedAt, this.#halfLifeMs);
    const labels = (p.counts[i + 1] as number) * keep;
    const retried = (p.counts[i + 2] as number) * keep;
    return { rate: retried / (labels + 1), count: labels };
  }

  #decay(p: Profile, now: number): void {
    const keep = decayFactor(now - p.updatedAt, this.#halfLifeMs);
    for (let i = 0; i < p.counts.length; i += 3) {
      p.counts[i + 1] = (p.counts[i + 1] as number) * keep;
      p.counts[i + 2] = (p.counts[i + 2] as number) * keep;
    }
    p.updatedAt = now;
  }
}

/** Where a slot's [slot, labels, retried] starts in the profile's counts; -1 when never used. */
function indexOf(p: Profile, slot: HistorySlot): number {
  for (let i = 0; i < p.counts.length; i += 3) if (p.counts[i] === slot) return i;
  return -1;
}
