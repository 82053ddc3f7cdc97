// POST /predict_retry: the seed's contract (response_time_ms, status_code, bytes_sent, optional
// anomaly_score) plus any of Sibyl's own feature fields, single or batch. Answers
// {retry_probability, recommended_action, model_version}. Bad input: 400 naming the field.
import * as z from 'zod';
import type { FeatureInput } from '../model/features.ts';

const ERROR_KINDS = ['none', 'refused', 'connect_timeout', 'reset', 'timeout', 'protocol', 'aborted', 'no_backend'] as const;
const MAX_BATCH = 1000;

const nonNegative = z.number().finite().nonnegative();

export const predictRequestSchema = z.strictObject({
  status_code: z.int().min(0).max(999),
  response_time_ms: nonNegative.optional(),
  bytes_sent: nonNegative.optional(),
  /** Accepted for compatibility with the seed's clients; the model has no such feature and ignores it. */
  anomaly_score: z.number().finite().optional(),
  bytes_in: nonNegative.optional(),
  error_kind: z.enum(ERROR_KINDS).optional(),
  retry_after_sec: nonNegative.optional(),
  attempt: z.int().min(1).optional(),
  method: z.string().min(1).max(32).optional(),
  route: z.string().min(1).max(512).optional(),
  user_agent_family: z.string().min(1).max(64).optional(),
  client_retry_rate: z.number().min(0).max(1).optional(),
  client_label_count: nonNegative.optional(),
  backend: z.string().min(1).max(256).optional(),
  backend_latency_ewma_ms: nonNegative.optional(),
  backend_error_ewma: z.number().min(0).max(1).optional(),
  backend_in_flight: nonNegative.optional(),
  retry_marker: z.boolean().optional(),
});

export type PredictRequest = z.infer<typeof predictRequestSchema>;

export function toFeatureInput(r: PredictRequest): FeatureInput {
  return {
    status: r.status_code,
    latencyMs: r.response_time_ms,
    bytesOut: r.bytes_sent,
    bytesIn: r.bytes_in,
    errorKind: r.error_kind,
    retryAfterSec: r.retry_after_sec,
    attempt: r.attempt,
    method: r.method,
    route: r.route,
    userAgentFamily: r.user_agent_family,
    clientRetryRate: r.client_retry_rate,
    clientLabelCount: r.client_label_count,
    backend: r.backend,
    backendLatencyEwmaMs: r.backend_latency_ewma_ms,
    backendErrorEwma: r.backend_error_ewma,
    backendInFlight: r.backend_in_flight,
    retryMarker: r.retry_marker,
  };
}

export type RecommendedAction = 'ALLOW' | 'ROUTE_BACKUP' | 'CIRCUIT_BREAK';

export function recommendedAction(p: number, thresholds: { routeBackup: number; circuitBreak: number }): RecommendedAction {
  if (p >= thresholds.circuitBreak) return 'CIRCUIT_BREAK';
  if (p >= thresholds.routeBackup) return 'ROUTE_BACKUP';
  return 'ALLOW';
}

export type PredictParse = { ok: true; isBatch: boolean; requests: PredictRequest[] } | { ok: false; field: string; message: string };

function issue(err: z.ZodError, prefix: string): { ok: false; field: string; message: string } {
  const first = err.issues[0];
  const field = [prefix, ...(first?.path ?? []).map(String)].filter((p) => p !== '').join('.');
  return { ok: false, field: field === '' ? '(body)' : field, message: first?.message ?? 'invalid' };
}

/** A single object, or a batch as {"requests": [...]} (at most 1000). */
export function parsePredictBody(body: unknown): PredictParse {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'requests' in body) {
    const list = (body as { requests: unknown }).requests;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH) {
      return { ok: false, field: 'requests', message: `expected an array of 1..${MAX_BATCH} objects` };
    }
    const requests: PredictRequest[] = [];
    for (let i = 0; i < list.length; i++) {
      const parsed = predictRequestSchema.safeParse(list[i]);
      if (!parsed.success) return issue(parsed.error, `requests.${i}`);
      requests.push(parsed.data);
    }
    return { ok: true, isBatch: true, requests };
  }
  const parsed = predictRequestSchema.safeParse(body);
  if (!parsed.success) return issue(parsed.error, '');
  return { ok: true, isBatch: false, requests: [parsed.data] };
}
