// The process-level handler, for what no request-scoped boundary contained (proxy/failure-boundary.ts):
// an exception thrown outside any request (a timer of the runtime, a library's event) or a promise
// nobody awaited. The process state is no longer known to be sound: log it with its stack, then drain
// (in-flight requests finish, bounded by the shutdown limit) and exit non-zero so that the supervisor
// (systemd, Kubernetes, the cluster primary) starts a fresh process.
import type { Logger } from '../log/logger.ts';

type FatalOrigin = 'uncaughtException' | 'unhandledRejection';

export interface FatalEvents {
  on(event: 'uncaughtException', listener: (err: Error, origin: string) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

/** Calls `stop` once, at the first fatal error; later ones (during the drain) are logged only. */
export function handleFatalErrors(events: FatalEvents, logger: Pick<Logger, 'fatal'>, stop: (reason: FatalOrigin) => void): void {
  let isStopping = false;
  const onFatal = (origin: FatalOrigin, err: unknown): void => {
    logger.fatal({ err, origin, isDraining: isStopping }, isStopping ? 'another uncontained error while draining' : 'uncontained error: draining, then exiting with status 1');
    if (isStopping) return;
    isStopping = true;
    stop(origin);
  };
  events.on('uncaughtException', (err, origin) => onFatal(origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException', err));
  events.on('unhandledRejection', (reason) => onFatal('unhandledRejection', reason));
}
