// Retry labelling (DESIGN.md "Retry intelligence", docs/retry-prediction.md "Retries and repeats").
//
// A request is a client retry when the same client (client key) re-sends the same request
// (fingerprint) within the retry window after an attempt that failed as the client saw it: a 5xx,
// 429 or 408, a transport error Sibyl answered, or the client gave up (it disconnected, or re-sent
// while its connection to the attempt was already gone). A re-send after a success is a repeat:
// a new chain (attempt 1), never a retry. An explicit retry marker (retry-markers.ts) wins over
// this inference, and a marked attempt that got any 4xx may be retried too (core/outcome.ts
// mayBeRetried: SDKs retry their own throttling 400s).
//
// The label: retried = 1 when a retry of the attempt arrives; 0 as soon as the attempt succeeds,
// or when the window passes after a failure without a retry. Labels still unknown at shutdown are
// flushed as null.
//
// Pure: time is passed in. Memory is bounded: at most maxTracked (client key, fingerprint)
// entries, least recently used evicted first (counted), idle entries dropped after the window.
import { mayBeRetried } from '../core/outcome.ts';
import type { AttemptEvent, RecordedEvent } from './attempt-event.ts';

/** The event as the labeller holds it: attempt, repeat and label are set here. */
export type PendingEvent = AttemptEvent & { attempt: number; repeat: boolean; retried: 0 | 1 | null };


const Phase = { inFlight: 0, failed: 1, succeeded: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

export interface Ticket {
  readonly key: string;
  /** 1 + the retries before this one in its chain; a late give-up (see finish) may still raise it. */
  attempt: number;
  /** A re-send within the window that is not a retry (after a success, or marked attempt 1). */
  isRepeat: boolean;
  /** A retry: of a failed attempt, or as an explicit retry marker says. */
  isRetry: boolean;
  /** The request carried an explicit retry marker (its SDK numbers its attempts). */
  readonly hasRetryMarker: boolean;
  /**
   * For a retry of a failed attempt: that attempt's backend. Retry-aware routing avoids it. A
   * client that gave up on a slow attempt is routed as usual.
   */
  readonly avoidBackendId: string | undefined;
  endedAt: number;
  phase: Phase;
  /** The client's connection to this attempt closed before Sibyl answered. */
  isClientGone: boolean;
  /** An identical request that was in flight, client still connected, when this one arrived. */
  concurrentWith: Ticket | undefined;
  event: PendingEvent | undefined;
  isRetried: boolean;
  isEmitted: boolean;
  /** Handed to the learner (learnAfterMs after it ended) with the label known then. */
  isLearnable: boolean;
  /** Pushed out of its entry to bound memory: it can no longer be matched by a retry. */
  isDropped: boolean;
}

interface Entry {
  /** In flight, or failed and not labelled yet; oldest first, at most MAX_OPEN. */
  open: Ticket[];
  lastArrivalAt: number;
}

/** Identical requests of one client tracked at once; one client hammering one URL stays bounded. */
export const MAX_OPEN = 16;

export interface RetryLabellerOptions {
  readonly windowMs: number;
  readonly maxTracked: number;
  /**
   * Every failure is handed to the learner this long after it ended, with the label known then:
   * 1 if its retry came, else a provisional 0. The learner cannot wait a whole window (30 s) for
   * the 0s, and learning each 1 the moment its retry arrives while the 0s come later would feed it
   * waves of positives; one fixed delay for both keeps the stream unbiased. A retry after the delay
   * corrects the 0 (onLabelled with 1). The final label still waits for the window. Default: the window.
   */
  readonly learnAfterMs?: number;
}

export interface RetryLabellerSinks {
  readonly onLabelled: (event: RecordedEvent) => void;
  /** An entry evicted to bound memory; its open attempts are labelled null. */
  readonly onEvict: (lostAttempts: number) => void;
  /** A client retry was recognised (at arrival, or late when a give-up is seen after the re-send). */
  readonly onRetry: () => void;
  readonly onRepeat: () => void;
  /** A failure, learnAfterMs after it ended, with the label known then (see learnAfterMs). */
  readonly onLearnable?: (event: RecordedEvent, label: 0 | 1) => void;
  /** How long after a failure ended its retry arrived. */
  readonly onRetryDelay?: (delayMs: number) => void;
}


export class RetryLabeller {
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #sinks: RetryLabellerSinks;
  readonly #entries = new Map<string, Entry>();
  /** Failed, not-yet-labelled attempts in order of end time: the sweep labels expired ones 0. */
  #failed: Ticket[] = [];
  #failedHead = 0;
  /** The next failed attempt to hand to the learner (at or past #failedHead). */
  #learnableHead = 0;
  #learnAfterMs: number;

  constructor(options: RetryLabellerOptions, sinks: RetryLabellerSinks) {
    this.#windowMs = options.windowMs;
    this.#learnAfterMs = Math.min(options.learnAfterMs ?? options.windowMs, options.windowMs);
    this.#maxTracked = options.maxTracked;
    this.#sinks = sinks;
  }

  get trackedKeys(): number {
    return this.#entries.size;
  }

  get learnAfterMs(): number {
    return this.#learnAfterMs;
  }

  set learnAfterMs(ms: number) {
    this.#learnAfterMs = Math.min(Math.max(0, ms), this.#windowMs);
  }

  /**
   * Data path, at accept. `markedAttempt` is the attempt number an explicit retry marker states
   * (undefined without one).
   */
  arrive(clientKey: string, fingerprint: string, now: number, markedAttempt?: number): Ticket {
    const key = `${clientKey}:${fingerprint}`;
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#entries.delete(key); // re-inserted below: Map order is our LRU order
    const withinWindow = entry !== undefined && now - entry.lastArrivalAt <= this.#windowMs;
    const original = entry === undefined ? undefined : this.#originalOf(entry, now, markedAttempt !== undefined && markedAttempt > 1);
    let ticket: Ticket;
    const isMarked = markedAttempt !== undefined;
    if (isMarked && markedAttempt <= 1) {
      // the client says this is a first attempt: whatever came before, a new chain
      ticket = newTicket(key, 1, withinWindow, false, isMarked, undefined);
    } else if (original !== undefined) {
      ticket = newTicket(key, markedAttempt ?? original.attempt + 1, false, true, isMarked, failedBackendOf(original));
      this.#markRetried(original, now);
    } else if (isMarked) {
      ticket = newTicket(key, markedAttempt, false, true, isMarked, undefined); // its original went elsewhere
    } else {
      ticket = newTicket(key, 1, withinWindow, false, isMarked, undefined);
      ticket.concurrentWith = entry?.open.findLast((t) => t.phase === Phase.inFlight);
    }
    if (ticket.isRetry) this.#sinks.onRetry();
    else if (ticket.isRepeat) this.#sinks.onRepeat();
    const next = entry ?? { open: [], lastArrivalAt: now };
    next.lastArrivalAt = now;
    if (next.open.length >= MAX_OPEN) this.#drop(next.open.shift() as Ticket);
    next.open.push(ticket);
    this.#entries.set(key, next);
    if (this.#entries.size > this.#maxTracked) this.#evictOldest();
    return ticket;
  }

  /**
   * Data path, at record, before the prediction: what the attempt's end tells about the chain (a
   * client that left). Afterwards ticket.attempt is final.
   */
  settle(ticket: Ticket, errorKind: string): void {
    if (errorKind === 'aborted') ticket.isClientGone = true;
    this.#resolveConcurrent(ticket, errorKind);
  }

  /** Data path, at record: the attempt's event; labelled now when it succeeded. */
  finish(ticket: Ticket, event: PendingEvent, now: number): void {
    ticket.endedAt = now;
    this.settle(ticket, event.errorKind);
    event.attempt = ticket.attempt;
    event.repeat = ticket.isRepeat;
    ticket.event = event;
    if (ticket.isEmitted) return;
    if (ticket.isRetried) {
      // retried while still in flight (its client gave up): labelled now, learned with the others
      ticket.phase = Phase.failed;
      this.#close(ticket);
      this.#failed.push(ticket);
      return this.#emit(ticket, 1);
    }
    const isFailure = mayBeRetried(event.status, event.errorKind, ticket.hasRetryMarker);
    // dropped to bound memory: a success is still known to be 0, a failure can no longer be matched
    if (ticket.isDropped) return this.#emit(ticket, isFailure ? null : 0);
    if (!isFailure) {
      ticket.phase = Phase.succeeded;
      this.#close(ticket);
      return this.#emit(ticket, 0);
    }
    ticket.phase = Phase.failed;
    this.#failed.push(ticket);
  }

  /** Labels retried = 0 for failed attempts whose window has passed; drops idle entries. */
  sweep(now: number): void {
    const list = this.#failed;
    let k = Math.max(this.#learnableHead, this.#failedHead);
    for (; k < list.length; k++) {
      const ticket = list[k] as Ticket;
      if (ticket.endedAt + this.#learnAfterMs >= now) break;
      if (ticket.isLearnable || ticket.isDropped) continue;
      ticket.isLearnable = true;
      this.#sinks.onLearnable?.(ticket.event as PendingEvent, ticket.isRetried ? 1 : 0);
    }
    this.#learnableHead = k;
    let i = this.#failedHead;
    for (; i < list.length; i++) {
      const ticket = list[i] as Ticket;
      if (ticket.endedAt + this.#windowMs >= now) break;
      if (ticket.isEmitted) continue;
      this.#close(ticket);
      this.#emit(ticket, 0);
    }
    this.#failedHead = i;
    if (this.#failedHead > 4096 && this.#failedHead * 2 > list.length) {
      this.#failed = list.slice(this.#failedHead);
      this.#learnableHead = Math.max(0, this.#learnableHead - this.#failedHead);
      this.#failedHead = 0;
    }
    for (const [key, entry] of this.#entries) {
      if (now - entry.lastArrivalAt <= this.#windowMs) break; // LRU order: the rest are newer
      if (entry.open.length === 0) this.#entries.delete(key);
    }
  }

  /** At shutdown: every attempt whose label is still unknown is emitted with retried = null. */
  flushUnlabelled(): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      for (const t of entry.open) {
        if (t.isEmitted || t.event === undefined) continue;
        this.#emit(t, null);
        n++;
      }
    }
    return n;
  }

  /**
   * The attempt a re-send retries: the newest one that failed (unlabelled, within the window) or
   * whose client already left while it was in flight. With a marker saying "retry", any attempt
   * still in flight qualifies: the client timed out on it.
   */
  #originalOf(entry: Entry, now: number, isMarkedRetry: boolean): Ticket | undefined {
    for (let i = entry.open.length - 1; i >= 0; i--) {
      const t = entry.open[i] as Ticket;
      if (t.isRetried || t.isEmitted) continue;
      if (t.phase === Phase.failed && now <= t.endedAt + this.#windowMs) return t;
      if (t.phase === Phase.inFlight && (t.isClientGone || isMarkedRetry)) return t;
    }
    return undefined;
  }

  /**
   * A client that gives up closes its connection and re-sends at once; Sibyl may see the re-send
   * before the close. So a request that arrived beside an identical one still in flight becomes
   * its retry when that one ends with the client gone while this one's client stayed.
   */
  #resolveConcurrent(ticket: Ticket, errorKind: string): void {
    const earlier = ticket.concurrentWith;
    ticket.concurrentWith = undefined;
    if (earlier === undefined || ticket.isRetry || errorKind === 'aborted' || !earlier.isClientGone) return;
    if (earlier.isRetried || earlier.isEmitted) return;
    ticket.isRetry = true;
    ticket.isRepeat = false;
    ticket.attempt = earlier.attempt + 1;
    this.#sinks.onRetry();
    this.#markRetried(earlier, Number.NaN); // in flight: no delay to measure
  }

  #markRetried(original: Ticket, now: number): void {
    original.isRetried = true;
    if (original.phase === Phase.failed) this.#sinks.onRetryDelay?.(Math.max(0, now - original.endedAt));
    if (original.event !== undefined) {
      this.#close(original);
      this.#emit(original, 1);
    }
  }

  /** Takes a labelled attempt out of its entry's open list. */
  #close(ticket: Ticket): void {
    const entry = this.#entries.get(ticket.key);
    if (entry === undefined) return;
    const i = entry.open.indexOf(ticket);
    if (i >= 0) entry.open.splice(i, 1);
  }

  #emit(ticket: Ticket, retried: 0 | 1 | null): void {
    if (ticket.isEmitted) return;
    ticket.isEmitted = true;
    // the event object is the labeller's own: set the label rather than copy ~25 fields
    const event = ticket.event as PendingEvent;
    event.retried = retried;
    this.#sinks.onLabelled(event);
  }

  /** An attempt pushed out to bound memory: a failure is labelled null, now or when it ends. */
  #drop(ticket: Ticket): void {
    ticket.isDropped = true;
    if (ticket.event !== undefined) this.#emit(ticket, null);
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next();
    if (oldest.done === true) return;
    const entry = this.#entries.get(oldest.value) as Entry;
    this.#entries.delete(oldest.value);
    let lost = 0;
    for (const t of entry.open) {
      if (!t.isEmitted && t.phase !== Phase.inFlight) lost++;
      this.#drop(t);
    }
    this.#sinks.onEvict(lost);
  }
}

function newTicket(key: string, attempt: number, isRepeat: boolean, isRetry: boolean, hasRetryMarker: boolean, avoidBackendId: string | undefined): Ticket {
  return { key, attempt, isRepeat, isRetry, hasRetryMarker, avoidBackendId, endedAt: Number.NaN, phase: Phase.inFlight, isClientGone: false, concurrentWith: undefined, event: undefined, isRetried: false, isEmitted: false, isLearnable: false, isDropped: false };
}

function failedBackendOf(original: Ticket): string | undefined {
  const e = original.event;
  if (e === undefined || original.phase !== Phase.failed || e.errorKind === 'aborted') return undefined;
  return e.backend !== 'none' ? e.backend : undefined;
}
