// pick + connect for one client connection in TCP mode: the strategy picks a backend, and a
// failed connect (refused, timed out, reset) is recorded for outlier detection and the next
// eligible backend not yet tried is used, up to [tcp] connect_attempts. No bytes have been
// forwarded yet, so trying another backend is always safe at L4.
import { connect, type Socket } from 'node:net';
import { ErrorKind } from '../../core/outcome.ts';
import type { Backend } from '../../runtime/backend.ts';
import type { Generation } from '../../runtime/generation.ts';

export type ConnectResult =
  | { readonly ok: true; readonly backend: Backend; readonly upstream: Socket }
  | { readonly ok: false; readonly reason: 'no_backend' | 'connect_failed' | 'client_gone' };

export interface ConnectDeps {
  readonly now: () => number;
  /** The record phase: EWMAs and outlier detection (runtime.recordOutcome). */
  readonly record: (backend: Backend, errorKind: ErrorKind, latencyMs: number) => void;
  readonly onConnectFailure: (backend: Backend, errorKind: ErrorKind) => void;
}

function errorKindOf(error: unknown): ErrorKind {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED') return ErrorKind.refused;
  if (code === 'ETIMEDOUT') return ErrorKind.connectTimeout;
  return ErrorKind.reset;
}

/** One connect attempt; resolves with the socket or the error kind. */
function connectOnce(backend: Backend, timeoutMs: number, signal: AbortSignal): Promise<Socket | ErrorKind> {
  return new Promise((resolve) => {
    const socket = connect({ host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => settle(ErrorKind.connectTimeout), timeoutMs);
    const onAbort = (): void => settle(ErrorKind.aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    function settle(result: Socket | ErrorKind): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (typeof result === 'string') socket.destroy();
      resolve(result);
    }
    const onConnect = (): void => settle(socket);
    const onError = (error: unknown): void => settle(errorKindOf(error));
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

export async function connectUpstream(generation: Generation, clientIp: string, signal: AbortSignal, deps: ConnectDeps): Promise<ConnectResult> {
  const settings = generation.settings.tcp;
  const request = { hashKey: clientIp };
  const tried: Backend[] = [];
  for (let attempt = 0; attempt < settings.connectAttempts; attempt++) {
    // a hashing strategy keeps affinity, like HAProxy's hash balance: re-pick only from the untried
    // L4 has no routes: every connection goes to the default pool
    const pool = generation.defaultPool;
    const backend = tried.length === 0 ? pool.pick(request) : pool.pickAvoiding(request, tried);
    if (backend === undefined || tried.includes(backend)) break;
    tried.push(backend);
    const startMs = deps.now();
    backend.inFlight++;
    const result = await connectOnce(backend, settings.connectTimeoutMs, signal);
    if (typeof result !== 'string') {
      // a success resets the outlier detector's consecutive failures; its connect time feeds the EWMA
      deps.record(backend, ErrorKind.none, deps.now() - startMs);
      return { ok: true, backend, upstream: result };
    }
    backend.inFlight--;
    if (result === ErrorKind.aborted) return { ok: false, reason: 'client_gone' };
    deps.onConnectFailure(backend, result);
    deps.record(backend, result, deps.now() - startMs);
  }
  return { ok: false, reason: tried.length === 0 ? 'no_backend' : 'connect_failed' };
}
