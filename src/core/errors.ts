// One catalogue of the errors Sibyl answers with. Mapped to HTTP in one place (proxy/respond.ts).
export const ErrorSource = { upstream: 'upstream', downstream: 'downstream', internal: 'internal' } as const;
export type ErrorSource = (typeof ErrorSource)[keyof typeof ErrorSource];

export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly source: ErrorSource;
  /** Whether another attempt (on another backend) may succeed. */
  readonly isRetryable: boolean;
  readonly message: string;
}

function spec(code: string, status: number, source: ErrorSource, isRetryable: boolean, message: string): ErrorSpec {
  return Object.freeze({ code, status, source, isRetryable, message });
}

export const Errors = {
  upstreamConnect: spec('SIBYL_ERR_UPSTREAM_CONNECT', 502, 'upstream', true, 'could not connect to a backend'),
  upstreamConnectTimeout: spec('SIBYL_ERR_UPSTREAM_CONNECT_TIMEOUT', 502, 'upstream', true, 'connecting to a backend timed out'),
  upstreamReset: spec('SIBYL_ERR_UPSTREAM_RESET', 502, 'upstream', false, 'the backend closed the connection'),
  upstreamProtocol: spec('SIBYL_ERR_UPSTREAM_PROTOCOL', 502, 'upstream', false, 'the backend sent an invalid response'),
  upstreamTimeout: spec('SIBYL_ERR_UPSTREAM_TIMEOUT', 504, 'upstream', false, 'the backend did not answer in time'),
  noBackend: spec('SIBYL_ERR_ROUTE_NO_BACKEND', 503, 'internal', true, 'no backend is available'),
  overCapacity: spec('SIBYL_ERR_PROTECT_MAX_CONNECTIONS', 503, 'internal', true, 'too many connections'),
  shed: spec('SIBYL_ERR_PROTECT_SHED', 503, 'internal', true, 'overloaded: the request was shed, retry after the Retry-After delay'),
  rateLimited: spec('SIBYL_ERR_PROTECT_RATE_LIMITED', 429, 'downstream', false, 'too many requests: retry after the Retry-After delay'),
  limitUnavailable: spec('SIBYL_ERR_PROTECT_LIMIT_UNAVAILABLE', 503, 'internal', true, 'the shared rate limit store is unreachable and the limit fails closed'),
  shuttingDown: spec('SIBYL_ERR_LIFECYCLE_SHUTTING_DOWN', 503, 'internal', true, 'the proxy is shutting down'),
  badRequest: spec('SIBYL_ERR_CLIENT_BAD_REQUEST', 400, 'downstream', false, 'malformed request'),
  badHost: spec('SIBYL_ERR_CLIENT_BAD_HOST', 400, 'downstream', false, 'the request needs exactly one valid Host header (HTTP/1.1, RFC 9112 3.2)'),
  forbiddenProxy: spec('SIBYL_ERR_CLIENT_NOT_A_PROXY', 400, 'downstream', false, 'absolute-form requests for other hosts and CONNECT are refused'),
  requestTimeout: spec('SIBYL_ERR_CLIENT_TIMEOUT', 408, 'downstream', false, 'the client was too slow sending the request'),
  bodyTooLarge: spec('SIBYL_ERR_CLIENT_BODY_TOO_LARGE', 413, 'downstream', false, 'request body too large'),
  urlTooLong: spec('SIBYL_ERR_CLIENT_URL_TOO_LONG', 414, 'downstream', false, 'request URL too long'),
  headersTooLarge: spec('SIBYL_ERR_CLIENT_HEADERS_TOO_LARGE', 431, 'downstream', false, 'request headers too large'),
  clientAborted: spec('SIBYL_ERR_CLIENT_ABORTED', 499, 'downstream', false, 'the client went away'),
  internal: spec('SIBYL_ERR_INTERNAL', 500, 'internal', false, 'internal error'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof Errors;
