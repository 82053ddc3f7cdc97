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
  /** What was asked: a hash of method, host, path, query, Idempotency-Key (and a small body when configured). */
  readonly fingerprint: string;
  /** 1 + how many requests with the same client key and fingerprint arrived within the retry window before this one. */
  readonly attempt: number;
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

/** An attempt with its label: retried = 1 when the same client key and fingerprint came back within the window. */
export interface LabelledEvent extends AttemptEvent {
  readonly retried: 0 | 1;
}
