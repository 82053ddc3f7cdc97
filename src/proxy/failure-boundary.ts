// The request-scoped failure boundary. An exception on the data path is a bug; it must cost the
// request it happened in, never the process and every other request in flight. Each place where
// the data path resumes (the handler itself, a body read, a queue slot, an upstream answer, a retry
// timer) runs its phase through contain(): the request gets the catalogue's 500 (or, once its
// response has started, a cut connection), the bug is logged once with its stack and counted
// (sibyl_internal_errors_total{site}). What escapes every boundary reaches the process-level
// handler (cli/fatal-errors.ts), which drains and exits.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Errors } from '../core/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import { sendError } from './respond.ts';

/** Where an exception was caught: the label of sibyl_internal_errors_total. */
export const FailureSite = {
  handler: 'handler',
  body: 'body',
  coalesce: 'coalesce',
  queue: 'queue',
  exchange: 'exchange',
  retry: 'retry',
  upgrade: 'upgrade',
  connect: 'connect',
  clientError: 'client_error',
  admin: 'admin',
} as const;
export type FailureSite = (typeof FailureSite)[keyof typeof FailureSite];

/** The response an exception belongs to: HTTP/1.1 and HTTP/2 compatibility responses alike. */
type AnyResponse = Pick<ServerResponse, 'headersSent' | 'writableEnded' | 'destroy'>;

export interface FailureBoundary {
  /** Answers `res` with 500 SIBYL_ERR_INTERNAL (or destroys it once started); logs and counts. */
  contain(site: FailureSite, err: unknown, res: AnyResponse, requestId: string): void;
  /** For a connection that has no response object (an upgrade, CONNECT, a parse error): destroyed. */
  containSocket(site: FailureSite, err: unknown, socket: Pick<Socket, 'destroy'>, requestId: string | undefined): void;
  /** `fn` run inside the boundary of one request. */
  guard<A extends unknown[]>(site: FailureSite, res: AnyResponse, requestId: string, fn: (...args: A) => void): (...args: A) => void;
}

export interface FailureBoundaryDeps {
  readonly metrics: Pick<Metrics, 'internalErrors'>;
  readonly logger: Pick<Logger, 'error'>;
  readonly requestIdHeader: () => string;
}

export function createFailureBoundary(deps: FailureBoundaryDeps): FailureBoundary {
  // one log line per request, however many of its phases fail after the first
  const reported = new WeakSet<object>();
  const report = (site: FailureSite, err: unknown, target: object, requestId: string | undefined): void => {
    deps.metrics.internalErrors.inc({ site });
    if (reported.has(target)) return;
    reported.add(target);
    deps.logger.error({ err, site, requestId }, 'internal error contained: the request was answered 500 and the process keeps serving');
  };
  const contain = (site: FailureSite, err: unknown, res: AnyResponse, requestId: string): void => {
    report(site, err, res, requestId);
    if (res.writableEnded) return;
    try {
      // a bug left this request in an unknown state: answer it, then close its connection
      if (!res.headersSent) (res as ServerResponse).shouldKeepAlive = false;
      sendError(res as ServerResponse, Errors.internal, requestId, deps.requestIdHeader());
    } catch {
      res.destroy();
    }
  };
  return {
    contain,
    containSocket(site, err, socket, requestId) {
      report(site, err, socket, requestId);
      socket.destroy();
    },
    guard(site, res, requestId, fn) {
      return (...args) => {
        try {
          fn(...args);
        } catch (err) {
          contain(site, err, res, requestId);
        }
      };
    },
  };
}
