// Synthetic labelled traffic for the model's tests: deterministic per seed, with a structure a
// status-only model cannot see. Two client families behave differently on the same responses:
// - okhttp retries 5xx and 429 while attempt < 3 (90 %), other failures rarely (2 %);
// - browser retries only a first attempt that timed out (60 %), other failures rarely (1 %).
// A success is never retried: a re-send after it is a repeat (the label's definition).
import { createSeededRng } from '../core/rng.ts';
import type { ErrorKind } from '../core/outcome.ts';
import type { FeatureInput } from './features.ts';

export interface SyntheticEvent {
  readonly input: FeatureInput;
  readonly retried: 0 | 1;
}

const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 404, 429, 500, 503, 503, 504] as const;
const ROUTES = ['/api/users/:id', '/api/orders', '/api/orders/:id', '/static/:file', '/login'] as const;

export function syntheticEvents(seed: number, count: number): SyntheticEvent[] {
  const rng = createSeededRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const events: SyntheticEvent[] = [];
  for (let t = 0; t < count; t++) {
    const isOkhttp = rng.next() < 0.5;
    const status = pick(STATUSES);
    const errorKind: ErrorKind = status === 504 && rng.next() < 0.7 ? 'timeout' : 'none';
    const attempt = 1 + Math.floor(-Math.log(1 - rng.next()) * 0.8);
    const slow = status >= 500 ? 400 : 40;
    const input: FeatureInput = {
      status,
      errorKind,
      latencyMs: slow * (0.5 + rng.next()) * (errorKind === 'timeout' ? 20 : 1),
      bytesIn: rng.next() < 0.7 ? 0 : Math.floor(rng.next() * 4000),
      bytesOut: status === 200 ? Math.floor(rng.next() * 50_000) : 120,
      retryAfterSec: status === 429 || status === 503 ? pick([1, 5, 30]) : undefined,
      attempt,
      method: rng.next() < 0.8 ? 'GET' : 'POST',
      route: pick(ROUTES),
      userAgentFamily: isOkhttp ? 'okhttp' : 'browser',
      clientRetryRate: rng.next(),
      clientLabelCount: Math.floor(rng.next() * 10),
      backend: pick(['b1', 'b2', 'b3']),
      backendLatencyEwmaMs: 20 + rng.next() * 300,
      backendErrorEwma: rng.next() * 0.1,
      backendInFlight: Math.floor(rng.next() * 40),
    };
    const isFailure = status >= 500 || status === 429;
    const pRetry = !isFailure ? 0 : isOkhttp ? (attempt < 3 ? 0.9 : 0.02) : errorKind === 'timeout' && attempt === 1 ? 0.6 : 0.01;
    events.push({ input, retried: rng.next() < pRetry ? 1 : 0 });
  }
  return events;
}
