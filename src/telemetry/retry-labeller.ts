// Retry labelling (DESIGN.md "Retry intelligence"). An attempt is retried = 1 when another request
// with the same client key and fingerprint arrives after it started and within the retry window
// after it ended (or while it is still in flight); retried = 0 once the window passes without one.
// The attempt number is 1 + how many requests with the same client key and fingerprint arrived
// within the retry window before this one (arrival times, as DESIGN.md defines it).
//
// Pure: time is passed in. Memory is bounded: at most maxTracked (client key, fingerprint) entries,
// least recently used evicted first (counted), and idle entries dropped after the window.
import type { AttemptEvent, LabelledEvent } from './attempt-event.ts';

/** The event as the labeller holds it: created with a placeholder label that #emit sets. */
export type PendingEvent = AttemptEvent & { retried: 0 | 1 };

export interface Ticket {
  readonly attempt: number;
  readonly startedAt: number;
  /**
   * For a client retry: the backend of the previous attempt when that attempt failed (5xx or a
   * transport error). Retry-aware routing avoids it. A duplicate of an attempt still in flight is
   * ambiguous (a hedge, a second tab, or a timeout) and is routed as usual.
   */
  readonly avoidBackendId: string | undefined;
  endedAt: number;
  isRetried: boolean;
  event: PendingEvent | undefined;
  isEmitted: boolean;
}

interface Entry {
  /** Attempts not yet labelled, oldest first. */
  open: Ticket[];
  /** The latest attempt, labelled or not. */
  last: Ticket;
  /** Arrival times within the window, oldest first: the attempt number counts them. */
  arrivals: number[];
}

/** The attempt number saturates here (features bucket it at 4+ anyway). */
export const MAX_COUNTED_ARRIVALS = 32;

export interface RetryLabellerOptions {
  readonly windowMs: number;
  readonly maxTracked: number;
}

export interface RetryLabellerSinks {
  readonly onLabelled: (event: LabelledEvent) => void;
  /** An entry evicted to bound memory; its open attempts are never labelled. */
  readonly onEvict: (lostAttempts: number) => void;
}

function failedBackendOf(previous: Ticket): string | undefined {
  const e = previous.event;
  if (e === undefined) return undefined;
  const isFailure = e.status >= 500 || (e.errorKind !== 'none' && e.errorKind !== 'aborted') || e.status === 0;
  return isFailure && e.backend !== 'none' ? e.backend : undefined;
}

export class RetryLabeller {
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #sinks: RetryLabellerSinks;
  readonly #entries = new Map<string, Entry>();
  /** Finished, not-yet-labelled attempts in order of end time: the sweep pops expired ones. */
  #finished: { key: string; ticket: Ticket }[] = [];
  #finishedHead = 0;

  constructor(options: RetryLabellerOptions, sinks: RetryLabellerSinks) {
    this.#windowMs = options.windowMs;
    this.#maxTracked = options.maxTracked;
    this.#sinks = sinks;
  }

  get trackedKeys(): number {
    return this.#entries.size;
  }

  /** Data path, at accept: returns the ticket carrying the attempt number. */
  arrive(clientKey: string, fingerprint: string, now: number): Ticket {
    const key = `${clientKey}:${fingerprint}`;
    const entry = this.#entries.get(key);
    let attempt = 1;
    let avoidBackendId: string | undefined;
    if (entry !== undefined) {
      avoidBackendId = failedBackendOf(entry.last);
      this.#entries.delete(key); // re-inserted below: Map order is our LRU order
      const since = now - this.#windowMs;
      while (entry.arrivals.length > 0 && (entry.arrivals[0] as number) < since) entry.arrivals.shift();
      attempt = entry.arrivals.length + 1;
      // bounded per key: one client hammering one URL must not grow a list per request
      if (entry.arrivals.length >= MAX_COUNTED_ARRIVALS) entry.arrivals.shift();
      // open holds only attempts not yet known to be retried: a retried one leaves it (finish()
      // emits it), so a client hammering one URL keeps this list at one or two entries
      const stillOpen: Ticket[] = [];
      for (const t of entry.open) {
        if (t.isEmitted) continue;
        if (this.#isRetryOf(t, now)) {
          t.isRetried = true;
          if (t.event !== undefined) this.#emit(t, 1);
        } else stillOpen.push(t);
      }
      entry.open = stillOpen;
    }
    const ticket: Ticket = { attempt, startedAt: now, endedAt: Number.NaN, isRetried: false, event: undefined, isEmitted: false, avoidBackendId };
    const next = entry ?? { open: [], last: ticket, arrivals: [] };
    next.open.push(ticket);
    next.arrivals.push(now);
    next.last = ticket;
    this.#entries.set(key, next);
    if (this.#entries.size > this.#maxTracked) this.#evictOldest();
    return ticket;
  }

  /** Data path, at record: the attempt's event, without label. */
  finish(clientKey: string, fingerprint: string, ticket: Ticket, event: PendingEvent, now: number): void {
    ticket.endedAt = now;
    ticket.event = event;
    if (ticket.isEmitted) return; // its entry was evicted to bound memory
    if (ticket.isRetried) {
      this.#emit(ticket, 1);
      return;
    }
    this.#finished.push({ key: `${clientKey}:${fingerprint}`, ticket });
  }

  /** Labels retried = 0 for attempts whose window has passed; drops idle entries. */
  sweep(now: number): void {
    const list = this.#finished;
    let i = this.#finishedHead;
    for (; i < list.length; i++) {
      const { key, ticket } = list[i] as { key: string; ticket: Ticket };
      if (ticket.endedAt + this.#windowMs >= now) break;
      if (!ticket.isEmitted) this.#emit(ticket, 0);
      const entry = this.#entries.get(key);
      if (entry !== undefined) {
        entry.open = entry.open.filter((t) => !t.isEmitted);
        if (entry.open.length === 0 && entry.last === ticket) this.#entries.delete(key);
      }
    }
    this.#finishedHead = i;
    // compact now and then so the array does not grow without bound
    if (this.#finishedHead > 4096 && this.#finishedHead * 2 > list.length) {
      this.#finished = list.slice(this.#finishedHead);
      this.#finishedHead = 0;
    }
  }

  #isRetryOf(previous: Ticket, now: number): boolean {
    if (now < previous.startedAt) return false;
    // still in flight: the client gave up on it (or hedged) and asked again
    if (Number.isNaN(previous.endedAt)) return true;
    return now <= previous.endedAt + this.#windowMs;
  }

  #emit(ticket: Ticket, retried: 0 | 1): void {
    if (ticket.isEmitted) return;
    ticket.isEmitted = true;
    // the event object is the labeller's own: set the label rather than copy ~25 fields
    const event = ticket.event as PendingEvent;
    event.retried = retried;
    this.#sinks.onLabelled(event as LabelledEvent);
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next();
    if (oldest.done === true) return;
    const entry = this.#entries.get(oldest.value) as Entry;
    this.#entries.delete(oldest.value);
    const lost = entry.open.filter((t) => !t.isEmitted).length;
    for (const t of entry.open) t.isEmitted = true; // the sweep will skip them
    this.#sinks.onEvict(lost);
  }
}
