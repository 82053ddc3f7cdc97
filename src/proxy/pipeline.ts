// The data path, in phase order: accept -> admit -> route/split (the pool) -> pick (or queue, or shed) -> forward -> classify
// -> [retry -> pick] -> respond -> record. This file only orders the phases; each phase lives in
// its own module (admission, exchange + forward, respond, the runtime's pick and queue).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import { ErrorKind, type Outcome } from '../core/outcome.ts';
import type { Rng } from '../core/rng.ts';
import type { AccessLog } from '../log/access-log.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import type { Backend } from '../runtime/backend.ts';
import type { AttemptStart, RequestFacts } from '../runtime/retry-intelligence.ts';
import { bodyIdentityOf, NO_BODY, unhashedBodyIdentity } from '../telemetry/fingerprint.ts';
import type { Generation } from '../runtime/generation.ts';
import type { Pool } from '../runtime/pool.ts';
import type { VariantAssignment } from '../runtime/experiment-controller.ts';
import type { RateLimitRejection } from '../runtime/rate-limits.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ProxySettings } from '../runtime/settings.ts';
import { checkRequest, hasRequestBody } from './admission.ts';
import { createBodyLimit } from './body-limit.ts';
import { Coalescer, type CopiedResponse } from './coalescer.ts';
import { runExchange, type PickState } from './exchange.ts';
import type { ResponseFacts } from './forward.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { createRequestMetrics } from './request-metrics.ts';
import { requestIdFrom } from './request-id.ts';
import { sendError } from './respond.ts';
import type { FailureBoundary } from './failure-boundary.ts';

export interface PipelineDeps {
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  readonly rng: Rng;
  readonly now: () => number;
  readonly isDraining: () => boolean;
  /** Where an exception of a phase becomes that request's 500 (failure-boundary.ts). */
  readonly boundary: FailureBoundary;
}

const LIMIT_LABELS = new Map<ErrorSpec, string>([
  [Errors.urlTooLong, 'url_length'],
  [Errors.bodyTooLarge, 'body_size'],
  [Errors.badRequest, 'bad_request'],
  [Errors.badHost, 'bad_host'],
  [Errors.forbiddenProxy, 'not_a_proxy'],
]);

/** The `limit` label of sibyl_proxy_limit_rejections_total for an accept-phase refusal. */
export function limitLabelOf(spec: ErrorSpec): string | undefined {
  return LIMIT_LABELS.get(spec);
}

export function clientIpOf(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * pick, retry-aware and capacity-aware: a client retry avoids the backend that failed its previous
 * attempt; with load shedding on, the backend's slot is taken (undefined: all full).
 */
export function pickFor(pool: Pool, hashKey: string, avoidBackendId: string | undefined): Backend | undefined {
  const avoid = avoidBackendId === undefined ? undefined : pool.findBackend(avoidBackendId);
  return pool.pickWithCapacity({ hashKey }, avoid === undefined ? NOTHING_TO_AVOID : [avoid]);
}

const NOTHING_TO_AVOID: readonly Backend[] = [];

/** The key a hashing strategy hashes: the configured header, falling back to the client IP. */
export function hashKeyOf(pool: Pool, req: IncomingMessage, clientIp: string): string {
  if (!pool.needsHashKey) return '';
  return ((pool.hashHeader !== undefined ? req.headers[pool.hashHeader] : undefined) ?? clientIp).toString();
}

/**
 * Only what is safe to answer twice with one response: GET and HEAD without a body, or any method
 * with the configured idempotency key header (part of the fingerprint: only the same key coalesces).
 */
function isCoalescable(req: IncomingMessage, idempotencyKeyHeader: string): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return !hasRequestBody(req);
  return req.headers[idempotencyKeyHeader] !== undefined;
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly generation: Generation;
  readonly pool: Pool;
  readonly variant: VariantAssignment | undefined;
  readonly requestId: string;
  readonly startMs: number;
  readonly attempt: AttemptStart | undefined;
  readonly clientIp: string;
  readonly hashKey: string;
  /** The backend a client retry should avoid (retry-aware routing). */
  readonly avoidBackendId: string | undefined;
  /** The whole body, when it was read before the pick (to fingerprint it). */
  readonly body: Buffer | undefined;
}

/** What accept knows of a request before it is admitted. */
interface Accepted {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly generation: Generation;
  readonly requestId: string;
  readonly startMs: number;
  readonly clientIp: string;
}

/** Reads a small body whole (its Content-Length is at most the hash limit); nothing on abort. */
function readWholeBody(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => then(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
}

export function createPipeline(deps: PipelineDeps) {
  const { runtime, metrics, logger, accessLog, rng, now, isDraining, boundary } = deps;
  const requestMetrics = createRequestMetrics(metrics);

  const NO_RESPONSE_FACTS: ResponseFacts = { bytesOut: 0, retryAfterSec: undefined, held: undefined };
  const exchangeDeps = { runtime, metrics, rng, now, isDraining, boundary };
  const coalescer = new Coalescer();

  function record(req: IncomingMessage, s: ProxySettings, requestId: string, backend: Backend | undefined, outcome: Outcome, cause: unknown, attempt: AttemptStart | undefined, facts: ResponseFacts, pickState: PickState | undefined): void {
    const backendId = backend?.id ?? 'none';
    let prediction: number | undefined;
    if (outcome.status < 500 && outcome.status !== 429 && outcome.errorKind === ErrorKind.none) runtime.tally.clientSuccesses++;
    if (attempt !== undefined && runtime.retry !== undefined) {
      prediction = runtime.retry.end(attempt, {
        requestId,
        method: req.method ?? '',
        backend: backendId,
        status: outcome.status,
        errorKind: outcome.errorKind,
        latencyMs: outcome.latencyMs,
        bytesIn: Number(req.headers['content-length'] ?? 0) || 0,
        bytesOut: facts.bytesOut,
        retryAfterSec: facts.retryAfterSec,
        backendLatencyEwmaMs: pickState?.latencyEwmaMs ?? 0,
        backendErrorEwma: pickState?.errorEwma ?? 0,
        backendInFlight: pickState?.inFlight ?? 0,
      });
      if (backend !== undefined && runtime.config.model.enabled) runtime.recordPrediction(backend, outcome, prediction);
    }
    requestMetrics.record(backendId, outcome.status, outcome.latencyMs / 1000);
    if (outcome.errorKind !== ErrorKind.none && outcome.errorKind !== ErrorKind.aborted) {
      metrics.upstreamErrors.inc({ backend: backendId, error_kind: outcome.errorKind });
      logger.warn({ requestId, backend: backendId, errorKind: outcome.errorKind, cause: (cause as Error | undefined)?.message }, 'upstream attempt failed');
    }
    if (s.accessLog && (s.accessLogSampleRate >= 1 || rng.next() < s.accessLogSampleRate)) {
      accessLog.write({ requestId, method: req.method ?? '', url: req.url ?? '', status: outcome.status, backend: backendId, latencyMs: outcome.latencyMs, errorKind: outcome.errorKind, clientIp: clientIpOf(req), retryProbability: prediction, attempt: attempt?.ticket.attempt, isRepeat: attempt?.ticket.isRepeat });
    }
  }

  function reject(req: IncomingMessage, res: ServerResponse, s: ProxySettings, requestId: string, spec: ErrorSpec, startMs: number, attempt: AttemptStart | undefined, limited?: RateLimitRejection): void {
    const label = limitLabelOf(spec);
    if (label !== undefined) metrics.limitRejections.inc({ limit: label });
    if (spec === Errors.noBackend) metrics.noBackend.inc();
    // the request body (if any) is not wanted: close after answering rather than read it
    if (hasRequestBody(req)) res.shouldKeepAlive = false;
    if (spec === Errors.noBackend || spec === Errors.shed) {
      // pacing: Sibyl's own 503s say when to come back, jittered so clients do not return together
      const retryAfter = runtime.retryAfterSeconds(spec === Errors.shed ? 'shed' : 'no_backend');
      sendError(res, spec, requestId, s.requestIdHeader, { 'retry-after': String(retryAfter) });
      metrics.paced.inc();
      const errorKind = spec === Errors.noBackend ? ErrorKind.noBackend : ErrorKind.none;
      record(req, s, requestId, undefined, { status: spec.status, errorKind, latencyMs: now() - startMs }, undefined, attempt, { bytesOut: 0, retryAfterSec: retryAfter, held: undefined }, undefined);
      return;
    }
    sendError(res, spec, requestId, s.requestIdHeader, limited?.headers);
    const facts = limited === undefined ? NO_RESPONSE_FACTS : { bytesOut: 0, retryAfterSec: limited.retryAfterSec, held: undefined };
    record(req, s, requestId, undefined, { status: spec.status, errorKind: ErrorKind.none, latencyMs: now() - startMs }, undefined, attempt, facts, undefined);
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const startMs = now();
    const generation = runtime.current; // read once: the request finishes on this generation
    const s = generation.settings;
    const requestId = requestIdFrom(req.headers[s.requestIdHeader]);
    try {
      accept({ req, res, generation, requestId, startMs, clientIp: clientIpOf(req) });
    } catch (err) {
      boundary.contain('handler', err, res, requestId);
    }
  }

  function accept(accepted: Accepted): void {
    const { req, res, generation, requestId, startMs } = accepted;
    const s = generation.settings;
    runtime.tally.clientRequests++;

    const admissionError = checkRequest(req, s);
    if (admissionError !== undefined) return reject(req, res, s, requestId, admissionError, startMs, beginAttempt(accepted, undefined));
    const hashLimit = runtime.retry?.maxBodyHashBytes ?? -1;
    const contentLength = req.headers['content-length'];
    // a small body is part of what was asked: read it before the pick, as the replay buffer would
    if (hashLimit >= 0 && contentLength !== undefined && Number(contentLength) <= hashLimit && hasRequestBody(req)) {
      return readWholeBody(req, boundary.guard('body', res, requestId, (body: Buffer) => admit(accepted, body)));
    }
    admit(accepted, undefined);
  }

  /** Identifies the client and the request; the attempt number is known here, before the pick. */
  function beginAttempt(a: Accepted, body: Buffer | undefined): AttemptStart | undefined {
    const retry = runtime.retry;
    if (retry === undefined) return undefined;
    const { req } = a;
    const bodyIdentity = body !== undefined ? bodyIdentityOf(body) : hasRequestBody(req) ? unhashedBodyIdentity(req.headers['content-length'], a.requestId) : NO_BODY;
    const facts: RequestFacts = { method: req.method ?? '', host: req.headers.host ?? '', url: req.url ?? '', headers: req.headers, clientIp: a.clientIp, body: bodyIdentity };
    return retry.begin(facts);
  }

  /** admit -> route/split, then coalesce or pick. */
  function admit(a: Accepted, body: Buffer | undefined): void {
    const { req, res, generation, requestId, startMs, clientIp } = a;
    const s = generation.settings;
    const attempt = beginAttempt(a, body);
    const limited = runtime.rateLimits.check(req.url ?? '', clientIp, req.headers, attempt?.clientKey, startMs);
    if (limited !== undefined) {
      runtime.tally.rateLimited++;
      if (attempt !== undefined && attempt.ticket.attempt > 1) runtime.tally.rateLimitedRetries++;
      return reject(req, res, s, requestId, limited.spec, startMs, attempt, limited);
    }

    // route -> split: the pool this request is served by (its retries stay there)
    const { pool, variant } = runtime.delivery.traffic.choose(generation, req, clientIp);
    const hashKey = hashKeyOf(pool, req, clientIp);
    // retry-aware routing, unless a [[flags]] flag switches it off for this request
    const avoidBackendId = attempt?.ticket.avoidBackendId !== undefined && runtime.delivery.traffic.isFeatureOn(generation, 'retry_aware_routing', req, clientIp) ? attempt.ticket.avoidBackendId : undefined;
    const ctx: RequestContext = { req, res, generation, pool, variant, requestId, startMs, attempt, clientIp, hashKey, avoidBackendId, body };
    const coalescing = s.coalescing;
    if (coalescing !== undefined && attempt !== undefined && isCoalescable(req, coalescing.idempotencyKeyHeader)) {
      const key = `${attempt.clientKey}\0${attempt.fingerprint}`;
      if (coalescer.join(key, boundary.guard('coalesce', res, requestId, (copy: CopiedResponse | undefined) => answerFromCopy(ctx, copy)), coalescing.maxWaiters)) return;
      coalescer.lead(key, res, coalescing.maxBodyBytes);
    }
    route(ctx);
  }

  /** A waiter of a coalesced request: the original's response, or on as an ordinary request. */
  function answerFromCopy(ctx: RequestContext, copy: CopiedResponse | undefined): void {
    const { req, res, generation, requestId, startMs, attempt } = ctx;
    if (res.destroyed || res.headersSent) return;
    if (copy === undefined) {
      metrics.coalesced.inc({ outcome: 'sent' });
      return route(ctx);
    }
    metrics.coalesced.inc({ outcome: 'served' });
    const s = generation.settings;
    // a body of its own is not wanted: close after answering rather than read it
    if (hasRequestBody(req)) res.shouldKeepAlive = false;
    res.writeHead(copy.statusCode, { ...copy.headers, [s.requestIdHeader]: requestId });
    res.end(req.method === 'HEAD' ? undefined : copy.body);
    const facts: ResponseFacts = { bytesOut: copy.body.length, retryAfterSec: undefined, held: undefined };
    record(req, s, requestId, undefined, { status: copy.statusCode, errorKind: ErrorKind.none, latencyMs: now() - startMs }, undefined, attempt, facts, undefined);
  }

  /** pick (or queue, or shed), then start. */
  function route(ctx: RequestContext): void {
    const { req, res, generation, pool, requestId, startMs, attempt, hashKey } = ctx;
    const s = generation.settings;
    const backend = pickFor(pool, hashKey, ctx.avoidBackendId);
    if (backend !== undefined) return start(ctx, backend);
    if (pool.eligibleSet.eligible.length === 0 || s.shedding === undefined) return reject(req, res, s, requestId, Errors.noBackend, startMs, attempt);
    queue(ctx);
  };

  /** Every eligible backend is at its concurrency limit: wait in Sibyl's queue, or be shed. */
  function queue(ctx: RequestContext): void {
    const { req, res, generation, requestId, startMs, attempt } = ctx;
    const s = generation.settings;
    let isStarted = false;
    const cancel = runtime.admission.enqueue(
      {
        tryStart() {
          try {
            const backend = pickFor(ctx.pool, ctx.hashKey, ctx.avoidBackendId);
            if (backend === undefined) return false;
            isStarted = true;
            start(ctx, backend);
          } catch (err) {
            // called while another request finishes: this request's bug stays this request's
            isStarted = true;
            boundary.contain('queue', err, res, requestId);
          }
          return true;
        },
        onExpired: boundary.guard('queue', res, requestId, () => {
          metrics.shed.inc({ reason: 'deadline' });
          reject(req, res, s, requestId, Errors.shed, startMs, attempt);
        }),
      },
      runtime.queueDeadlineMs(ctx.pool),
    );
    if (cancel === undefined) {
      metrics.shed.inc({ reason: 'queue_full' });
      return reject(req, res, s, requestId, Errors.shed, startMs, attempt);
    }
    // a client that leaves while queued is dropped at once: no work is done for nobody
    res.once('close', boundary.guard('queue', res, requestId, () => {
      if (isStarted || res.writableFinished) return;
      cancel();
      metrics.queueAbandoned.inc();
      runtime.observeClientGaveUp(now() - startMs, attempt?.clientKey ?? ctx.clientIp, ctx.pool.fastestLatencyMs);
    }));
  }

  /** forward onwards, with a backend whose slot (when load shedding is on) is already taken. */
  function start(ctx: RequestContext, backend: Backend): void {
    const { req, res, generation, pool, requestId, startMs, attempt, clientIp, hashKey } = ctx;
    const s = generation.settings;
    const via = s.addViaHeader ? `1.1 sibyl` : undefined;
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp, proto: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http', requestIdHeader: s.requestIdHeader, requestId, via, isUpgrade: false });
    const hasIdempotencyKey = s.retry !== undefined && req.headers[s.retry.idempotencyKeyHeader] !== undefined;
    if (s.retry !== undefined) runtime.retryBudget.deposit(now());
    const exchange = {
      req, res, generation, pool, requestId, via, startMs, headers, hashKey, hasIdempotencyKey,
      client: attempt?.clientKey ?? clientIp,
      wantsPickState: attempt !== undefined,
      onFinal(final: Backend, outcome: Outcome, cause: unknown, facts: ResponseFacts, pickState: PickState | undefined) {
        record(req, s, requestId, final, outcome, cause, attempt, facts, pickState);
        ctx.variant?.record(outcome);
      },
    };
    // shadow traffic: a copy goes beside the request, never in its way (runtime/shadow-mirror.ts)
    const shadow = runtime.delivery.shadows.select(pool.name);
    const sendBuffered = (body: Buffer, isReplayable: boolean): void => {
      shadow?.send(generation, req.method ?? 'GET', req.url ?? '/', headers, body, res);
      runExchange({ ...exchange, body, isReplayable }, backend, exchangeDeps);
    };
    if (ctx.body !== undefined) return sendBuffered(ctx.body, s.retry !== undefined && ctx.body.length <= s.retry.replayBufferBytes);
    if (!hasRequestBody(req)) {
      shadow?.send(generation, req.method ?? 'GET', req.url ?? '/', headers, null, res);
      return runExchange({ ...exchange, body: null, isReplayable: true }, backend, exchangeDeps);
    }
    const contentLength = req.headers['content-length'];
    // any small body is kept: even a POST may be retried when its connection was refused
    const isReplayBuffered = s.retry !== undefined && contentLength !== undefined && Number(contentLength) <= s.retry.replayBufferBytes;
    const isShadowBuffered = shadow !== undefined && contentLength !== undefined && Number(contentLength) <= shadow.config.maxBodyBytes;
    if (!isReplayBuffered && !isShadowBuffered) {
      shadow?.skip();
      const body = contentLength === undefined ? req.pipe(createBodyLimit(s.maxBodyBytes)) : req;
      return runExchange({ ...exchange, body, isReplayable: false }, backend, exchangeDeps);
    }
    // a small body that a retry or a shadow copy needs is read whole first (a capped buffer)
    readWholeBody(req, boundary.guard('body', res, requestId, (body: Buffer) => sendBuffered(body, isReplayBuffered)));
  }

  return handleRequest;
}
