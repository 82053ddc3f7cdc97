// One population of real retrying HTTP clients for the live retry-storm experiment: open-loop
// (Poisson) arrivals at a scheduled rate, each request made through one npm client library with
// its DEFAULT retry policy plus a per-attempt timeout, as an application would configure it.
//   got          retry limit 2, 408/413/429/5xx and network errors incl. timeouts, backoff 1 s, 2 s
//   axios-retry  3 retries, no delay, network errors and idempotent 5xx (not timeouts)
//   undici       RetryAgent: 5 retries, 429/5xx and connection errors, backoff 0.5 s x 2^n, Retry-After
//   ky           limit 2, 408/413/429/5xx and network errors (not its timeout), 0.3 s x 2^n, Retry-After on 413/429/503
//   p-retry      around fetch, 3 retries (its default of 10 capped, as the retry-identity experiment does),
//                every failure incl. the timeout, 1 s x 2^n, ignores Retry-After
//   plain-fetch  fetch, no retries
// Every request has its own URL, so only a library's retries share a fingerprint. With
// --local-address each process connects from its own loopback address: a client of its own to
// the proxy (ky, p-retry and fetch all say User-Agent "node"), as distinct services would be.
// Usage: node bench/storm/retrying-client.ts --lib got --url http://127.0.0.1:P --start-at EPOCH_MS
//        --schedule '[{"untilMs":10000,"rps":100},...]' --timeout-ms 1000 --max-requests 100000
//        [--local-address 127.0.0.11]
// Prints one JSON line: {"lib", "records": [[startMs, endMs, ok 0|1, attempts], ...]} (ms from start-at).
import { Agent as HttpAgent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import axios, { type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import got, { type Got } from 'got';
import ky from 'ky';
import pRetry, { AbortError } from 'p-retry';
import { Agent, RetryAgent, request, type Dispatcher } from 'undici';

export const ClientLibraries = ['got', 'axios-retry', 'undici-retry', 'ky', 'p-retry-fetch', 'plain-fetch'] as const;
export type ClientLibrary = (typeof ClientLibraries)[number];

export interface ScheduleStep {
  readonly untilMs: number;
  readonly rps: number;
}

/** One call of the library: resolves with whether it succeeded and how many attempts it made. */
type Call = (url: string) => Promise<{ ok: boolean; attempts: number }>;

/** A client process must not grow without bound when the target collapses: beyond this, arrivals fail at once. */
const MAX_IN_FLIGHT = 4000;

/** The source address of every connection; undefined: the system's choice. */
interface Source {
  readonly localAddress: string | undefined;
}

function gotCall(timeoutMs: number, { localAddress }: Source): Call {
  const client: Got = got.extend({ timeout: { request: timeoutMs }, agent: { http: new HttpAgent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, localAddress }) } });
  return async (url) => {
    let attempts = 1;
    try {
      await client.get(url, { hooks: { beforeRetry: [() => void attempts++] } }).text();
      return { ok: true, attempts };
    } catch {
      return { ok: false, attempts };
    }
  };
}

function axiosCall(timeoutMs: number, { localAddress }: Source): Call {
  const client: AxiosInstance = axios.create({ timeout: timeoutMs, httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, localAddress }) });
  // shouldResetTimeout: the timeout applies to each attempt, not to the whole call
  axiosRetry(client, { shouldResetTimeout: true });
  return async (url) => {
    let attempts = 1;
    try {
      await client.get(url, { 'axios-retry': { onRetry: () => void attempts++ } });
      return { ok: true, attempts };
    } catch {
      return { ok: false, attempts };
    }
  };
}

function undiciCall(timeoutMs: number, { localAddress }: Source): Call {
  // an interceptor under the RetryAgent sees every attempt it dispatches; paths are unique per call
  const attemptsByPath = new Map<string, number>();
  const countAttempts = (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] => (opts, handler) => {
    attemptsByPath.set(opts.path, (attemptsByPath.get(opts.path) ?? 0) + 1);
    return dispatch(opts, handler);
  };
  const dispatcher = new RetryAgent(new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: MAX_IN_FLIGHT, localAddress }).compose(countAttempts));
  return async (url) => {
    const path = new URL(url).pathname;
    let ok: boolean;
    try {
      const res = await request(url, { dispatcher });
      await res.body.text();
      ok = res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      ok = false;
    }
    const attempts = attemptsByPath.get(path) ?? 1;
    attemptsByPath.delete(path);
    return { ok, attempts };
  };
}

/** Node's own fetch (keep-alive), counting every attempt by URL; an undici Agent carries the source address. */
function countingFetch({ localAddress }: Source): { fetch: typeof fetch; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const dispatcher = new Agent({ connections: MAX_IN_FLIGHT, localAddress });
  const counted = (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    counts.set(url, (counts.get(url) ?? 0) + 1);
    return fetch(input, { ...init, dispatcher } as RequestInit);
  };
  return { fetch: counted as typeof fetch, counts };
}

/** Reads the attempts made for `url` and forgets them (URLs are unique per call). */
function takeCount(counts: Map<string, number>, url: string): number {
  const n = counts.get(url) ?? 1;
  counts.delete(url);
  return n;
}

function kyCall(timeoutMs: number, source: Source): Call {
  // ky's `timeout` applies to each attempt (it re-arms it per retry) and is not retried by default
  const { fetch: f, counts } = countingFetch(source);
  const client = ky.create({ timeout: timeoutMs, fetch: f });
  return async (url) => {
    let ok: boolean;
    try {
      await client.get(url).text();
      ok = true;
    } catch {
      ok = false;
    }
    return { ok, attempts: takeCount(counts, url) };
  };
}

function pRetryCall(timeoutMs: number, source: Source): Call {
  const { fetch: f, counts } = countingFetch(source);
  return async (url) => {
    let ok: boolean;
    try {
      await pRetry(
        async () => {
          const res = await f(url, { signal: AbortSignal.timeout(timeoutMs) });
          await res.text();
          if (res.ok) return;
          // the usual idiom: retry what may pass next time, give up on the rest
          if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
          throw new AbortError(`HTTP ${res.status}`);
        },
        { retries: 3 },
      );
      ok = true;
    } catch {
      ok = false;
    }
    return { ok, attempts: takeCount(counts, url) };
  };
}

function plainFetchCall(timeoutMs: number, source: Source): Call {
  const { fetch: f } = countingFetch(source);
  return async (url) => {
    try {
      const res = await f(url, { signal: AbortSignal.timeout(timeoutMs) });
      await res.text();
      return { ok: res.ok, attempts: 1 };
    } catch {
      return { ok: false, attempts: 1 };
    }
  };
}

function callFor(lib: ClientLibrary, timeoutMs: number, source: Source): Call {
  switch (lib) {
    case 'got':
      return gotCall(timeoutMs, source);
    case 'axios-retry':
      return axiosCall(timeoutMs, source);
    case 'undici-retry':
      return undiciCall(timeoutMs, source);
    case 'ky':
      return kyCall(timeoutMs, source);
    case 'p-retry-fetch':
      return pRetryCall(timeoutMs, source);
    case 'plain-fetch':
      return plainFetchCall(timeoutMs, source);
  }
}

function rateAt(schedule: readonly ScheduleStep[], ms: number): number | undefined {
  return schedule.find((step) => ms < step.untilMs)?.rps;
}

/** Open-loop arrivals: exponential gaps at the scheduled rate, each request on its own. */
async function drive(lib: ClientLibrary, baseUrl: string, startAt: number, schedule: readonly ScheduleStep[], call: Call, maxRequests: number): Promise<number[][]> {
  const records: number[][] = [];
  const pending = new Set<Promise<void>>();
  await sleep(Math.max(0, startAt - Date.now()));
  let next = 0;
  for (let n = 0; n < maxRequests; n++) {
    const rps = rateAt(schedule, next);
    if (rps === undefined) break;
    next += rps > 0 ? -Math.log(1 - Math.random()) * (1000 / rps) : 100;
    const wait = startAt + next - Date.now();
    if (wait > 1) await sleep(wait);
    if (rps === 0) continue;
    const started = Date.now() - startAt;
    if (pending.size >= MAX_IN_FLIGHT) {
      records.push([started, started, 0, 0]);
      continue;
    }
    const p = call(`${baseUrl}/item/${lib}-${n}`).then(({ ok, attempts }) => {
      records.push([started, Date.now() - startAt, ok ? 1 : 0, attempts]);
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return records;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lib: { type: 'string' },
      url: { type: 'string' },
      'start-at': { type: 'string' },
      schedule: { type: 'string' },
      'timeout-ms': { type: 'string', default: '1000' },
      'max-requests': { type: 'string', default: '100000' },
      'local-address': { type: 'string' },
    },
  });
  const lib = values.lib as ClientLibrary;
  if (!ClientLibraries.includes(lib)) throw new Error(`--lib must be one of ${ClientLibraries.join(', ')}`);
  const schedule = JSON.parse(values.schedule ?? '[]') as ScheduleStep[];
  const localAddress = values['local-address'];
  if (localAddress !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(localAddress)) throw new Error('--local-address must be a loopback address 127.x.y.z');
  const call = callFor(lib, Number(values['timeout-ms']), { localAddress });
  const records = await drive(lib, String(values.url).replace(/\/$/, ''), Number(values['start-at']), schedule, call, Number(values['max-requests']));
  process.stdout.write(`${JSON.stringify({ lib, records })}\n`, () => process.exit(0));
}

if (import.meta.main) await main();
