// Ground truth, client side: every attempt a library makes, seen under the library (its transport,
// its dispatcher, its middleware), never by a header Sibyl could read. A logical request is one
// call of the application into the library; its attempts are what went on the wire for that call.
// Truth: an attempt is retried = 1 when the library sent another attempt of the same logical
// request after it. A deliberate re-send by the application is a new logical request (a repeat).
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';

export interface AttemptRecord {
  readonly library: string;
  readonly instance: string;
  readonly profile: string;
  readonly logicalId: number;
  readonly isRepeat: boolean;
  /** The HTTP method on the wire (DynamoDB: POST), the resource kind, and the DynamoDB operation. */
  readonly method: string;
  readonly pathKind: 'items' | 'orders' | 'dynamodb';
  readonly operation: string | undefined;
  /** 1 for the first attempt of the logical request. */
  readonly attemptIndex: number;
  readonly sentAtMs: number;
  endedAtMs: number | undefined;
  status: number | undefined;
  /** Sibyl's request id, from the response's x-request-id; undefined when no response came back. */
  requestId: string | undefined;
  /** Transport error code when no response came back. */
  error: string | undefined;
  /** Filled once the logical request is over: 1 when a later attempt of it exists. */
  truth: 0 | 1;
  /** The last attempt of a logical request that the application later sent again (a repeat follows it). */
  isFollowedByRepeat: boolean;
}

export interface AttemptOutcome {
  readonly status?: number;
  readonly requestId?: string;
  readonly error?: string;
}

type LogicalRequestBase = Pick<AttemptRecord, 'library' | 'instance' | 'profile' | 'logicalId' | 'isRepeat' | 'method' | 'pathKind' | 'operation'>;

/** One logical request's attempts; `start()` is called by the recording transport once per attempt. */
export class LogicalRequestLog {
  readonly attempts: AttemptRecord[] = [];
  /** False while the library has not answered yet (then the truth of its last attempt is unknown). */
  isClosed = false;
  readonly #base: LogicalRequestBase;

  constructor(base: LogicalRequestBase) {
    this.#base = base;
  }

  get library(): string {
    return this.#base.library;
  }

  /** Returns the function that settles this attempt; only its first call counts. */
  start(): (outcome: AttemptOutcome) => void {
    const record: AttemptRecord = { ...this.#base, attemptIndex: this.attempts.length + 1, sentAtMs: Date.now(), endedAtMs: undefined, status: undefined, requestId: undefined, error: undefined, truth: 0, isFollowedByRepeat: false };
    this.attempts.push(record);
    return (outcome) => {
      if (record.endedAtMs !== undefined) return;
      record.endedAtMs = Date.now();
      record.status = outcome.status;
      record.requestId = outcome.requestId;
      record.error = outcome.error;
    };
  }

  /** The application is about to send this request again: its last attempt is followed by a repeat, not a retry. */
  markRepeated(): void {
    const last = this.attempts.at(-1);
    if (last !== undefined) last.isFollowedByRepeat = true;
  }

  /** Called when the library has given its final answer: every attempt but the last was retried. */
  close(): void {
    this.isClosed = true;
    this.attempts.forEach((a, i) => (a.truth = i < this.attempts.length - 1 ? 1 : 0));
  }
}

function errorCode(error: unknown): string {
  const e = error as { code?: string; cause?: { code?: string }; name?: string };
  return e.code ?? e.cause?.code ?? e.name ?? 'error';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** An `http.request` look-alike (got's `request` option, axios' `transport.request`) that records each attempt. */
export function recordingHttpRequest(log: LogicalRequestLog): typeof httpRequest {
  return ((...args: Parameters<typeof httpRequest>): ClientRequest => {
    const settle = log.start();
    const req = httpRequest(...args);
    req.once('response', (res: IncomingMessage) => settle({ status: res.statusCode, requestId: headerValue(res.headers['x-request-id']) }));
    req.once('error', (error) => settle({ error: errorCode(error) }));
    return req;
  }) as typeof httpRequest;
}

/** A fetch that records each call and sends it through `dispatcher` (which carries the source address). */
export function recordingFetch(log: LogicalRequestLog, dispatcher: Dispatcher): typeof fetch {
  return async (input, init) => {
    const settle = log.start();
    try {
      const res = await fetch(input, { ...init, dispatcher } as RequestInit);
      settle({ status: res.status, requestId: res.headers.get('x-request-id') ?? undefined });
      return res;
    } catch (error) {
      settle({ error: errorCode(error) });
      throw error;
    }
  };
}

const HANDLER_METHODS = [
  'onRequestStart',
  'onRequestUpgrade',
  'onResponseStart',
  'onResponseData',
  'onResponseEnd',
  'onResponseError',
  'onConnect',
  'onUpgrade',
  'onHeaders',
  'onData',
  'onComplete',
  'onError',
  'onBodySent',
  'onResponseStarted',
] as const;

type AnyHandler = Record<string, ((...args: unknown[]) => unknown) | undefined>;

function requestIdFromRaw(rawHeaders: unknown): string | undefined {
  if (!Array.isArray(rawHeaders)) return undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (String(rawHeaders[i]).toLowerCase() === 'x-request-id') return String(rawHeaders[i + 1]);
  }
  return undefined;
}

/**
 * An undici interceptor, composed UNDER a RetryAgent, so it sees each attempt the RetryAgent
 * dispatches. It mirrors whichever handler API (undici 7's new one or the legacy one) the handler
 * above it implements, and records the response start or the error.
 */
export function recordingInterceptor(log: LogicalRequestLog): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const settle = log.start();
    const inner = handler as unknown as AnyHandler;
    const wrapped: AnyHandler = {};
    for (const name of HANDLER_METHODS) {
      const method = inner[name];
      if (typeof method === 'function') wrapped[name] = (...args: unknown[]) => method.apply(inner, args);
    }
    const wrap = (name: string, before: (...args: unknown[]) => void): void => {
      const next = wrapped[name];
      if (next !== undefined) wrapped[name] = (...args: unknown[]) => (before(...args), next(...args));
    };
    wrap('onResponseStart', (_controller, status, headers) =>
      settle({ status: status as number, requestId: headerValue((headers as Record<string, string | string[] | undefined>)['x-request-id']) }),
    );
    wrap('onHeaders', (status, rawHeaders) => settle({ status: status as number, requestId: requestIdFromRaw(rawHeaders) }));
    wrap('onResponseError', (_controller, error) => settle({ error: errorCode(error) }));
    wrap('onError', (error) => settle({ error: errorCode(error) }));
    return dispatch(opts, wrapped as unknown as Dispatcher.DispatchHandler);
  };
}
