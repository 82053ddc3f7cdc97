// Config section of load shedding: adaptive concurrency per backend and the admission queue.
import * as z from 'zod';
import { duration } from './fields.ts';

const count = (min: number) => z.int().min(min);

export const loadSheddingSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Limit each backend\'s in-flight requests to a concurrency learned from its latency (AIMD), queue the excess in Sibyl with a deadline, and shed with 503 + Retry-After.'),
    initialLimit: count(1).default(16).describe('Concurrency limit of a backend before anything is learned.'),
    minLimit: count(1).default(2).describe('Lowest concurrency limit.'),
    maxLimit: count(1).default(1000).describe('Highest concurrency limit.'),
    tolerance: z.number().min(1.1).max(20).default(2).describe('Recent average latency above tolerance x the no-load average (measured under light load) counts as overload and shrinks the limit.'),
    maxQueue: count(0).default(5000).describe('Requests that may wait in Sibyl for a free backend slot; beyond it they are shed at once.'),
    maxQueueWait: duration().prefault('1s').describe('Longest wait in the queue; the learned client patience lowers it (three quarters of the time the most impatient tenth of clients wait before giving up).'),
  })
  .superRefine((l, ctx) => {
    if (l.minLimit > l.initialLimit) ctx.addIssue({ code: 'custom', path: ['minLimit'], message: 'must be <= initial_limit' });
    if (l.initialLimit > l.maxLimit) ctx.addIssue({ code: 'custom', path: ['initialLimit'], message: 'must be <= max_limit' });
  })
  .describe('Load shedding: adaptive concurrency limits and the queue in Sibyl.');

export const coalescingSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('An identical request (same client key and fingerprint, so GET/HEAD, or another method with the same Idempotency-Key) that arrives while the original is in flight waits for the original\'s response instead of reaching a backend again. Needs [telemetry]. Off by default: it changes what backends see.'),
    maxWaiters: count(1).default(100).describe('Requests that may wait on one original; beyond it they are sent as usual.'),
    maxBodyBytes: count(0).max(16_777_216).default(1_048_576).describe('Largest response body copied for waiters; when the original\'s body is larger, the waiters are sent as usual.'),
  })
  .describe('Coalescing of identical in-flight requests.');
