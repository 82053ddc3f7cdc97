// The outcome of one attempt, as a value: expected failures are never exceptions.
export const ErrorKind = {
  none: 'none',
  refused: 'refused',
  connectTimeout: 'connect_timeout',
  reset: 'reset',
  timeout: 'timeout',
  protocol: 'protocol',
  aborted: 'aborted',
  noBackend: 'no_backend',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

export interface Outcome {
  /** HTTP status sent to the client for this attempt (0 when no response was obtained). */
  readonly status: number;
  readonly errorKind: ErrorKind;
  readonly latencyMs: number;
}

/** A gateway failure in Envoy's sense: 502/503/504 or no response at all. */
export function isGatewayFailure(o: Outcome): boolean {
  return o.errorKind !== 'none' && o.errorKind !== 'aborted' ? true : o.status === 502 || o.status === 503 || o.status === 504;
}

/** A failure for outlier detection and error EWMAs: any 5xx or transport error (client aborts excluded). */
export function isServerFailure(o: Outcome): boolean {
  if (o.errorKind === 'aborted') return false;
  return o.errorKind !== 'none' || o.status >= 500;
}

/**
 * Failed as the client saw it: a 5xx, 429 or 408, a transport error Sibyl answered, or a client
 * that gave up (aborted). Only these can be followed by a client retry (DESIGN.md "Retry
 * intelligence"); a re-send after anything else is a repeat.
 */
export function isClientVisibleFailure(status: number, errorKind: string): boolean {
  return errorKind !== 'none' || status === 0 || status >= 500 || status === 429 || status === 408;
}

/**
 * Can a client retry follow this response? A client-visible failure; or, from a client whose SDK
 * marks its attempts (retry-markers.ts), any 4xx too: such SDKs retry some 400s of their own (a
 * DynamoDB throttle is a 400), and their marker says so. Anything else is retried = 0 by definition.
 */
export function mayBeRetried(status: number, errorKind: string, hasRetryMarker: boolean): boolean {
  return isClientVisibleFailure(status, errorKind) || (hasRetryMarker && status >= 400);
}
