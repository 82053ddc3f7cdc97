// One catalogue of the errors Sibyl answers with, on the data path and on the admin listener: code,
// HTTP status, source, whether another attempt may succeed, and the default message. Data-path
// errors become HTTP in proxy/respond.ts, admin errors in admin/problems.ts; both bodies are
// {error, code, ...} as errorFields() builds them.
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
  // the admin listener (admin API, /metrics, /predict_retry, dashboard)
  adminBadRequest: spec('SIBYL_ERR_ADMIN_BAD_REQUEST', 400, 'downstream', false, 'the request is not valid'),
  adminBadJson: spec('SIBYL_ERR_ADMIN_BAD_JSON', 400, 'downstream', false, 'the request body is not valid JSON'),
  predictBadInput: spec('SIBYL_ERR_PREDICT_BAD_INPUT', 400, 'downstream', false, 'a field of the prediction request is not valid'),
  adminUnauthorised: spec('SIBYL_ERR_ADMIN_UNAUTHORISED', 401, 'downstream', false, 'a valid bearer token is required'),
  adminCrossOrigin: spec('SIBYL_ERR_ADMIN_CROSS_ORIGIN', 403, 'downstream', false, 'cross-origin requests to the admin API are refused'),
  adminNotFound: spec('SIBYL_ERR_ADMIN_NOT_FOUND', 404, 'downstream', false, 'no such admin endpoint'),
  adminModelDisabled: spec('SIBYL_ERR_ADMIN_MODEL_DISABLED', 404, 'downstream', false, 'retry intelligence is disabled ([telemetry] enabled = false)'),
  adminMethod: spec('SIBYL_ERR_ADMIN_METHOD', 405, 'downstream', false, 'method not allowed'),
  adminConflict: spec('SIBYL_ERR_ADMIN_CONFLICT', 409, 'downstream', false, 'the command does not apply to the current state'),
  smokeFailed: spec('SIBYL_ERR_TRAFFIC_SMOKE_FAILED', 409, 'upstream', true, 'the smoke check of the new side failed; no switch'),
  adminBodyTooLarge: spec('SIBYL_ERR_ADMIN_BODY_TOO_LARGE', 413, 'downstream', false, 'the admin request body is too large'),
  adminMisdirected: spec('SIBYL_ERR_ADMIN_MISDIRECTED', 421, 'downstream', false, 'the Host header does not name this admin listener'),
  adminWorkerFailed: spec('SIBYL_ERR_ADMIN_WORKER', 502, 'upstream', true, 'a worker did not answer'),
  adminNoWorker: spec('SIBYL_ERR_ADMIN_NO_WORKER', 503, 'internal', true, 'no worker is ready'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof Errors;

/** The fields every error body starts with; `message` replaces the catalogue's when it says more. */
export function errorFields(spec: ErrorSpec, message: string = spec.message): { error: string; code: string } {
  return { error: message, code: spec.code };
}
