// Application traffic of one client instance: open-loop arrivals at a modest rate, one distinct
// resource per logical request (a fresh item id, an order with its own body, a fresh DynamoDB key),
// and about one in ten logical requests deliberately sent again by the application 1-5 s after it
// completed: a repeat, recorded as a new logical request, never as a retry.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogicalRequestLog } from './attempt-recorder.ts';
import type { LibraryClient, LibraryName, LogicalRequest } from './client-libraries.ts';

export interface ClientInstance {
  readonly library: LibraryName;
  readonly name: string;
  readonly client: LibraryClient;
}

export interface TrafficPlan {
  readonly ratePerSecond: number;
  /** Wall-clock end of new logical requests (repeats included); chains already started finish. */
  readonly untilMs: number;
  readonly maxLogicalRequests: number;
  readonly repeatShare: number;
  /** The profile in force now: every logical request is scored under the profile it started in. */
  readonly profileNow: () => string;
}

export const REPEAT_DELAY_MIN_MS = 1000;
export const REPEAT_DELAY_MAX_MS = 5000;

let nextLogicalId = 1;

function newRequest(library: LibraryName, seq: number): LogicalRequest {
  const roll = Math.random();
  if (library === 'aws-sdk-dynamodb') {
    return roll < 0.6 ? { kind: 'dynamodb', operation: 'GetItem', key: randomUUID() } : { kind: 'dynamodb', operation: 'PutItem', key: randomUUID(), value: `v${seq}` };
  }
  if (roll < 0.5) return { kind: 'http', method: 'GET', path: `/api/items/${randomUUID()}` };
  if (roll < 0.7) return { kind: 'http', method: 'PUT', path: `/api/items/${randomUUID()}`, body: JSON.stringify({ name: `item ${seq}`, qty: seq % 7 }) };
  if (roll < 0.8) return { kind: 'http', method: 'DELETE', path: `/api/items/${randomUUID()}` };
  return { kind: 'http', method: 'POST', path: '/api/orders', body: JSON.stringify({ orderRef: randomUUID(), sku: `sku-${seq % 50}`, qty: 1 + (seq % 3) }) };
}

/** Runs one instance's traffic; returns every logical request's log once all of them are over (or the drain deadline passed). */
export async function runInstanceTraffic(instance: ClientInstance, plan: TrafficPlan, drainDeadlineMs: number): Promise<LogicalRequestLog[]> {
  const logs: LogicalRequestLog[] = [];
  const pending = new Set<Promise<void>>();
  const sendOne = (request: LogicalRequest, isRepeat: boolean): { log: LogicalRequestLog; done: Promise<void> } => {
    const shape =
      request.kind === 'dynamodb'
        ? { method: 'POST', pathKind: 'dynamodb' as const, operation: request.operation }
        : { method: request.method, pathKind: request.path.startsWith('/api/orders') ? ('orders' as const) : ('items' as const), operation: undefined };
    const log = new LogicalRequestLog({ library: instance.library, instance: instance.name, profile: plan.profileNow(), logicalId: nextLogicalId++, isRepeat, ...shape });
    logs.push(log);
    const done = instance.client.send(request, log).then(() => log.close());
    pending.add(done);
    void done.then(() => pending.delete(done));
    return { log, done };
  };
  // start each instance at a random phase so that 16 instances do not fire in lockstep
  await sleep(Math.random() * (1000 / plan.ratePerSecond));
  for (let seq = 0; seq < plan.maxLogicalRequests && Date.now() < plan.untilMs; seq++) {
    const request = newRequest(instance.library, seq);
    const original = sendOne(request, false);
    if (Math.random() < plan.repeatShare) {
      const repeat = original.done.then(async () => {
        await sleep(REPEAT_DELAY_MIN_MS + Math.random() * (REPEAT_DELAY_MAX_MS - REPEAT_DELAY_MIN_MS));
        if (Date.now() >= plan.untilMs) return;
        original.log.markRepeated();
        await sendOne(request, true).done;
      });
      pending.add(repeat);
      void repeat.then(() => pending.delete(repeat));
    }
    await sleep(-Math.log(1 - Math.random()) * (1000 / plan.ratePerSecond));
  }
  // bounded: a library without a timeout could wait on a response for minutes
  while (pending.size > 0 && Date.now() < drainDeadlineMs) await Promise.race([Promise.race(pending), sleep(200)]);
  return logs;
}
