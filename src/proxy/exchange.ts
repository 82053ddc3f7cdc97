// forward -> classify -> [retry -> pick] for one client request: the attempt loop. A retryable
// response is held back (forward.ts) until the retry policy has decided; a retry goes to a
// backend not tried yet, after a jittered backoff, only while the client is still there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import { ErrorKind, type Outcome } from '../core/outcome.ts';
import type { Rng } from '../core/rng.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import { decideRetry } from '../retry/retry-policy.ts';
import { serviceLatencyMs } from '../protect/patience.ts';
import type { Backend } from '../runtime/backend.ts';
import type { Generation } from '../runtime/generation.ts';
import type { Pool } from '../runtime/pool.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { forward, releaseHeld, type AttemptContext, type ResponseFacts } from './forward.ts';
import { forwardGrpc, isGrpcRequest } from './forward-grpc.ts';
import { sendError } from './respond.ts';
import type { FailureBoundary } from './failure-boundary.ts';

/** Backend state read when it was picked, for telemetry. */
export interface PickState {
  readonly latencyEwmaMs: number;
  readonly errorEwma: number;
  readonly inFlight: number;
}

export interface ExchangeDeps {
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  readonly rng: Rng;
  readonly now: () => number;
  readonly isDraining: () => boolean;
  readonly boundary: FailureBoundary;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly generation: Generation;
  /** The pool route and split chose: retries stay in it. */
  readonly pool: Pool;
  readonly requestId: string;
  readonly via: string | undefined;
  readonly startMs: number;
  readonly headers: string[];
  readonly hashKey: string;
  /** Who sent it (client key, else address): a give-up is one client's patience. */
  readonly client: string;
  readonly body: Readable | Buffer | null;
  /** The body can be sent again (none, or buffered whole). */
  readonly isReplayable: boolean;
  readonly hasIdempotencyKey: boolean;
  readonly wantsPickState: boolean;
  /** Called once, with the attempt whose response the client got. */
  readonly onFinal: (backend: Backend, outcome: Outcome, cause: unknown, facts: ResponseFacts, pickState: PickState | undefined) => void;
}

/** What the concurrency limiter treats as the backend saying "too much". */
function isOverloadSignal(o: Outcome): boolean {
  return o.status === 503 || o.status === 504 || o.errorKind === ErrorKind.timeout || o.errorKind === ErrorKind.connectTimeout || o.errorKind === ErrorKind.refused;
}

function isClientGone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

export function runExchange(x: Exchange, first: Backend, deps: ExchangeDeps): void {
  const s = x.generation.settings;
  const retry = s.retry;
  const tried: Backend[] = [];
  let retries = 0;
  // gRPC needs HTTP/2 to the backend too; the attempt loop around it is the same
  const send = isGrpcRequest(x.req) ? (ctx: AttemptContext, headers: string[], body: Readable | Buffer | null) => forwardGrpc(ctx, headers, body, deps.metrics) : forward;

  const finish = (backend: Backend, outcome: Outcome, error: ErrorSpec | undefined, cause: unknown, facts: ResponseFacts, pickState: PickState | undefined): void => {
    if (facts.held !== undefined) releaseHeld(x.res, facts.held, deps.isDraining());
    else if (error !== undefined) {
      if (error === Errors.bodyTooLarge) deps.metrics.limitRejections.inc({ limit: 'body_size' });
      // the rest of the request body will not be read: answer, then close the connection
      if (!x.req.complete) x.res.shouldKeepAlive = false;
      if (error !== Errors.clientAborted) sendError(x.res, error, x.requestId, s.requestIdHeader);
    }
    x.onFinal(backend, outcome, cause, facts, pickState);
  };

  /** Gives the backend's concurrency slot back with what this attempt says about its load. */
  const releaseSlot = (backend: Backend, outcome: Outcome, error: ErrorSpec | undefined, loadAtStart: number): void => {
    if (error === Errors.clientAborted) {
      // the client left while the backend worked for it: waste, and a sample of its patience
      deps.metrics.waste.inc();
      deps.runtime.observeClientGaveUp(deps.now() - x.startMs, x.client, serviceLatencyMs(backend));
    }
    const limiter = backend.limiter;
    if (limiter === undefined) return;
    const loopLagMs = deps.runtime.loopLag.recentMs;
    if (outcome.errorKind === ErrorKind.aborted) limiter.abandon(outcome.latencyMs, deps.now(), loopLagMs);
    else limiter.release(outcome.latencyMs, isOverloadSignal(outcome), deps.now(), loadAtStart, loopLagMs);
    deps.runtime.admission.pump();
  };

  const attempt = (backend: Backend): void => {
    tried.push(backend);
    const pickState = x.wantsPickState ? { latencyEwmaMs: backend.latencyEwmaMs, errorEwma: backend.errorEwma, inFlight: backend.inFlight } : undefined;
    const mayRetry = retry !== undefined && x.isReplayable && retries < retry.policy.maxRetries;
    backend.inFlight++;
    const loadAtStart = backend.inFlight;
    const attemptStartMs = deps.now();
    deps.metrics.backendAttempts.inc();
    deps.runtime.tally.backendAttempts++;
    send(
      {
        req: x.req, res: x.res, backend, requestId: x.requestId, via: x.via, startMs: x.startMs, now: deps.now, isDraining: deps.isDraining,
        requestIdHeader: s.requestIdHeader,
        holdStatuses: mayRetry ? retry.policy.retryOnStatuses : undefined,
        headersTimeoutMs: retry?.perTryTimeoutMs,
        onDone(outcome, error, cause, facts) {
          // called by undici, which swallows what its handler throws: contained here, or the client
          // would wait for an answer that never comes
          try {
            backend.inFlight--;
            // outcome.latencyMs is what the client waited (queue and earlier attempts included); the
            // backend's own figures (limiter, EWMAs) take this attempt's time only, or a request that
            // waited in Sibyl's queue would make its backend look overloaded and keep the limit down
            const attemptOutcome = { ...outcome, latencyMs: deps.now() - attemptStartMs };
            releaseSlot(backend, attemptOutcome, error, loadAtStart);
            if (outcome.errorKind !== ErrorKind.aborted) deps.runtime.recordOutcome(backend, attemptOutcome);
            const isFailure = error !== undefined || facts.held !== undefined;
            if (retry === undefined || !isFailure || outcome.errorKind === ErrorKind.aborted) return finish(backend, outcome, error, cause, facts, pickState);
            if (isClientGone(x.res)) {
              deps.metrics.retryDecisions.inc({ decision: 'client_gone' });
              return finish(backend, outcome, error, cause, facts, pickState);
            }
            const decision = decideRetry(
              {
                method: x.req.method ?? 'GET',
                hasIdempotencyKey: x.hasIdempotencyKey,
                isBodyReplayable: x.isReplayable,
                isResponseStarted: x.res.headersSent,
                status: outcome.status,
                errorKind: outcome.errorKind,
                retriesSoFar: retries,
                hasOtherBackend: x.pool.hasOtherThan(tried),
              },
              retry.policy,
              deps.runtime.retryBudget,
              deps.now(),
              deps.rng,
            );
            deps.metrics.retryDecisions.inc({ decision: decision.shouldRetry ? 'retried' : decision.reason });
            if (!decision.shouldRetry) return finish(backend, outcome, error, cause, facts, pickState);
            retries++;
            setTimeout(deps.boundary.guard('retry', x.res, x.requestId, () => {
              const next = isClientGone(x.res) ? undefined : x.pool.pickWithCapacity({ hashKey: x.hashKey }, tried);
              if (next === undefined || tried.includes(next)) return finish(backend, outcome, error, cause, facts, pickState);
              attempt(next);
            }), decision.delayMs);
          } catch (err) {
            deps.boundary.contain('exchange', err, x.res, x.requestId);
          }
        },
      },
      x.headers,
      // a Buffer can be sent again; a stream only once
      x.body,
    );
  };
  attempt(first);
}
