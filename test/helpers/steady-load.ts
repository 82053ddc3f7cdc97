// Bounded client load for e2e tests: N concurrent loops through the proxy, each stopping at a request
// count, a deadline or a stop() call, recording every status, error and serving backend.
import { Agent, request } from 'undici';

export interface LoadResult {
  /** Requests that got a response, by status. */
  readonly statuses: Map<number, number>;
  /** Requests that got no response, by error code (ECONNREFUSED, UND_ERR_SOCKET, ...). */
  readonly errors: Map<string, number>;
  /** Responses by their x-served-by header ('' when absent). */
  readonly byBackend: Map<string, number>;
  readonly total: number;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Upper bound on requests over all loops. */
  readonly maxRequests: number;
  /** Upper bound on the whole run, in ms. */
  readonly maxDurationMs: number;
  readonly path?: string;
  /** Headers of the i-th request (0-based, over all loops). */
  readonly headers?: (i: number) => Record<string, string>;
  /** A loop stops at its first request without a response (e.g. once the listener is closed). */
  readonly isStoppedByError?: boolean;
  /** The client's source address (any of 127.0.0.0/8 on Linux), to look like another client IP. */
  readonly localAddress?: string;
}

export interface RunningLoad {
  /** Requests answered so far. */
  readonly answered: () => number;
  /** Asks every loop to stop after its current request; resolves with the result. */
  stop(): Promise<LoadResult>;
  readonly done: Promise<LoadResult>;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export function startLoad(baseUrl: string, options: LoadOptions): RunningLoad {
  const statuses = new Map<number, number>();
  const errors = new Map<string, number>();
  const byBackend = new Map<string, number>();
  const dispatcher = new Agent({ connections: options.concurrency, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
  const deadline = Date.now() + options.maxDurationMs;
  let started = 0;
  let answered = 0;
  let isStopping = false;

  const loop = async (): Promise<void> => {
    while (!isStopping && started < options.maxRequests && Date.now() < deadline) {
      const i = started++;
      try {
        const res = await request(`${baseUrl}${options.path ?? '/load'}`, { dispatcher, headers: options.headers?.(i) ?? {} });
        await res.body.text();
        answered++;
        bump(statuses, res.statusCode);
        bump(byBackend, String(res.headers['x-served-by'] ?? ''));
      } catch (err) {
        bump(errors, (err as { code?: string }).code ?? String(err));
        if (options.isStoppedByError === true) return;
      }
    }
  };

  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(async () => {
    await dispatcher.destroy();
    return { statuses, errors, byBackend, total: started };
  });
  return {
    answered: () => answered,
    stop() {
      isStopping = true;
      return done;
    },
    done,
  };
}

/** Runs a load to completion. */
export function runLoad(baseUrl: string, options: LoadOptions): Promise<LoadResult> {
  return startLoad(baseUrl, options).done;
}

/** A readable summary for assertion messages. */
export function describeLoad(result: LoadResult): string {
  return JSON.stringify({ total: result.total, statuses: Object.fromEntries(result.statuses), errors: Object.fromEntries(result.errors), byBackend: Object.fromEntries(result.byBackend) });
}
