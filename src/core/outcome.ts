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
