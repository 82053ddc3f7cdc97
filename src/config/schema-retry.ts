// Config sections of retry intelligence: the retry window, telemetry (client key, NDJSON sink)
// and the online retry model.
import * as z from 'zod';
import { duration, fraction, restartOnly } from './fields.ts';

const count = (min: number) => z.int().min(min);
const CLIENT_KEY_SOURCE = /^(credential|ip|ip_ua|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+|cookie:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

const ERROR_KINDS = ['refused', 'connect_timeout', 'reset', 'timeout', 'protocol'] as const;

export const retrySchema = z
  .strictObject({
    window: restartOnly(duration().prefault('30s').describe('The retry window: a request is a client retry when the same client key and fingerprint come back within this time after an attempt that failed as the client saw it (5xx, 429, 408, a transport error, or the client gave up); after a success it is a repeat. docs/retry-prediction.md has the rule with examples.')),
    enabled: z.boolean().default(true).describe('Sibyl retries failed attempts itself, on another backend, when it is safe (idempotent or allowed, body replayable, response not started, budget allows).'),
    maxRetries: count(0).max(5).default(1).describe('Retries per request, on top of the first attempt.'),
    retryOnStatuses: z.array(z.int().min(500).max(599)).default([502, 503, 504]).meta({ docType: 'list of 5xx statuses' }).describe('Backend statuses that are retried.'),
    retryOnErrors: z.array(z.enum(ERROR_KINDS)).default(['refused', 'connect_timeout', 'reset']).meta({ docType: 'list of error kinds' }).describe('Transport failures that are retried (refused and connect_timeout never reached the backend, so they are retried for any method).'),
    idempotencyKeyHeader: z.string().regex(/^[A-Za-z0-9-]+$/).default('idempotency-key').describe('A POST/PATCH carrying this header may be retried (the key makes a replay safe); its value is part of the fingerprint, so only requests with the same key are the same request (retries, coalescing).'),
    replayBufferBytes: count(0).max(1_048_576).default(65_536).describe('Request bodies up to this size are buffered so that they can be replayed; larger bodies stream and are never retried.'),
    perTryTimeout: duration().optional().describe('Time to response headers for each attempt; unset: `[proxy] response_header_timeout`.'),
    backoffBase: duration().prefault('25ms').describe('Full-jitter exponential backoff: the first retry waits a random time below this, doubling per retry.'),
    backoffMax: duration().prefault('250ms').describe('Upper bound of the backoff.'),
    budgetRatio: fraction().default(0.2).describe('Retry budget: retries may add at most this share of requests (Envoy/Linkerd/Finagle use 0.2).'),
    budgetMinPerSecond: count(0).default(10).describe('Retries always allowed per second, whatever the ratio, so that low traffic can retry.'),
  })
  .describe('Client retries (how Sibyl recognises them) and Sibyl\'s own retries (policy and budget).');

export const telemetrySchema = z
  .strictObject({
    enabled: restartOnly(z.boolean().default(true).describe('Record one event per finished attempt, label client retries and feed the retry model.')),
    clientKey: z
      .array(z.string().regex(CLIENT_KEY_SOURCE, 'expected "credential", "header:<name>", "cookie:<name>", "ip" or "ip_ua"'))
      .min(1)
      .default(['credential', 'header:x-client-id', 'ip_ua'])
      .meta({ docType: 'list of sources' })
      .describe('Where the client key comes from, first match wins: `credential` (the `Authorization` header, for AWS SigV4 its access key id and for Digest its username, else `X-Api-Key`), `header:<name>`, `cookie:<name>`, `ip`, `ip_ua` (client IP + User-Agent, also the fallback). Always hashed with `client_key_salt`, never stored raw.'),
    clientKeySalt: z.string().default('').describe('Mixed into the client key hash so that raw tokens cannot be recovered by hashing guesses. Set it to a secret.'),
    hashBody: z.boolean().default(true).describe('Include a hash of the request body in the fingerprint when its Content-Length is at most `max_body_hash_bytes` (the body is read first, as the retry replay buffer does; a request without a body is never delayed). A larger or chunked body enters as its length. Off: every body is the same to the fingerprint, so two POSTs to one URL are the same request.'),
    maxBodyHashBytes: count(0).max(65_536).default(8_192).describe('Largest request body hashed into the fingerprint, in bytes.'),
    maxTracked: restartOnly(count(1).default(100_000).describe('At most this many (client key, fingerprint) pairs are remembered for labelling; the least recently used are evicted and counted.')),
    maxClients: restartOnly(count(1).default(100_000).describe('At most this many client retry profiles are kept; the least recently seen are evicted.')),
    path: restartOnly(z.string().min(1).optional().describe('Write every attempt event as NDJSON to this file (rotated): successes at once, failures when labelled, and at shutdown the ones still inside the retry window with `retried: null`. With `serve --workers N` each worker writes its own file (`events.ndjson` -> `events.worker-0.ndjson`, ...). Unset: not written.')),
    maxFileBytes: restartOnly(count(1024).default(104_857_600).describe('Rotate the NDJSON file when it reaches this size, in bytes.')),
    maxFiles: restartOnly(count(1).max(100).default(5).describe('NDJSON files kept: the current one and `max_files - 1` rotated ones.')),
    queueCapacity: restartOnly(count(1).default(10_000).describe('Labelled events waiting for the learner or the NDJSON writer; beyond it they are dropped and counted.')),
  })
  .describe('Telemetry: attempt events, client keys, retry labels, the NDJSON sink.');

export const modelSchema = z
  .strictObject({
    enabled: restartOnly(z.boolean().default(true).describe('Learn the retry model online from labelled events and predict on every response.')),
    hashBits: restartOnly(count(10).max(24).default(18).describe('Size of the hashed feature space: 2^hash_bits weights.')),
    alpha: restartOnly(z.number().positive().default(0.2).describe('FTRL-Proximal learning rate alpha (0.2 beat 0.1 on the synthetic benchmark, src/model/retry-model.ts).')),
    beta: restartOnly(z.number().nonnegative().default(1).describe('FTRL-Proximal beta (smooths early per-coordinate learning rates).')),
    l1: restartOnly(z.number().nonnegative().default(1).describe('L1 regularisation (drives rare features to exactly zero).')),
    l2: restartOnly(z.number().nonnegative().default(1).describe('L2 regularisation.')),
    path: restartOnly(z.string().min(1).optional().describe('Snapshot file: loaded at start when it exists, saved every `snapshot_interval` and at shutdown. Unset: the shipped prior is loaded and nothing is saved.')),
    snapshotInterval: restartOnly(duration().prefault('60s').describe('How often the model snapshot is saved to `path`.')),
    learnInterval: restartOnly(duration().prefault('100ms').describe('How often the learner drains labelled events and trains on them (off the data path).')),
    qualityWindow: restartOnly(count(100).default(10_000).describe('Progressive validation window: quality metrics are computed over the last this-many labelled events.')),
    routeBackupThreshold: fraction().default(0.5).describe('`/predict_retry` recommends ROUTE_BACKUP at or above this retry probability.'),
    circuitBreakThreshold: fraction().default(0.8).describe('`/predict_retry` recommends CIRCUIT_BREAK at or above this retry probability.'),
  })
  .superRefine((m, ctx) => {
    if (m.circuitBreakThreshold < m.routeBackupThreshold) ctx.addIssue({ code: 'custom', path: ['circuitBreakThreshold'], message: 'must be >= route_backup_threshold' });
  })
  .describe('The online retry model (FTRL-Proximal logistic regression over hashed features).');
