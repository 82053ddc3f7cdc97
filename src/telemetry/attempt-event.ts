// One finished attempt, as telemetry: what the retry model learns from and what the NDJSON sink
// writes. Field names are the words of DESIGN.md "Retry intelligence".
import type { ErrorKind } from '../core/outcome.ts';

export interface AttemptEvent {
  readonly requestId: string;
  /** Wall-clock epoch ms when the request arrived and when its response ended. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** Who sent it: a hash, never the raw token, header or IP. */
  readonly clientKey: string;
  /** What was asked: a hash of method, host, path, query, the idempotency key header and a small body. */
  readonly fingerprint: string;
  /** 1 + the client retries before this one in its chain (a repeat starts a chain at 1). */
  readonly attempt: number;
  /** A re-send of a request that had succeeded (or that an explicit marker says is a first attempt): not a retry. */
  readonly repeat: boolean;
  /** The request carried an explicit retry marker (telemetry/retry-markers.ts): its SDK numbers attempts. */
  readonly retryMarker: boolean;
  readonly method: string;
  /** The path with ids folded (e.g. /api/users/:id), so that routes generalise. */
  readonly route: string;
  readonly backend: string;
  /** Status sent to the client (0 when none was sent). */
  readonly status: number;
  readonly errorKind: ErrorKind;
  readonly latencyMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Retry-After sent with the response, in seconds (undefined when none). */
  readonly retryAfterSec: number | undefined;
  readonly userAgentFamily: string;
  /** How often this client retried responses of this status class recently, in [0, 1], and on how many labels. */
  readonly clientRetryRate: number;
  readonly clientLabelCount: number;
  /** Backend state when it was picked. */
  readonly backendLatencyEwmaMs: number;
  readonly backendErrorEwma: number;
  readonly backendInFlight: number;
  /** P(retried) predicted when the response ended, before the label was known. */
  readonly prediction: number;
}

/**
 * An attempt as the NDJSON sink writes it: retried = 1 when the client retried it (re-sent it
 * after it failed, within the window); 0 when it succeeded or the window passed; null when still
 * unknown at shutdown, written so that every response's prediction is on file, never learned from.
 */
export interface RecordedEvent extends AttemptEvent {
  readonly retried: 0 | 1 | null;
}

/** An attempt whose label is known: what the learner, the quality metrics and offline training read. */
export interface LabelledEvent extends AttemptEvent {
  readonly retried: 0 | 1;
}

export function hasKnownLabel(e: RecordedEvent): e is LabelledEvent {
  return e.retried !== null;
}
