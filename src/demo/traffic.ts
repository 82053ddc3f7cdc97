// Steady demo traffic from three client populations, as real clients behave: "okhttp" clients
// retry a 5xx up to twice after a short backoff, "python" clients never retry, "go" clients poll:
// after a success they fetch the same URL once more (a repeat, which is not a retry). Each client
// has its own x-client-id; new requests use new URLs, so only retries and repeats share a
// fingerprint. Bounded rate, stops when told to.
import { Agent, request } from 'undici';

export interface TrafficTally {
  sent: number;
  retriesSent: number;
  /** Re-sends after a success (the pollers'): not retries. */
  repeatsSent: number;
  byStatus: Map<number, number>;
  byBackend: Map<string, number>;
  errors: number;
}

const POPULATIONS = [
  { userAgent: 'okhttp/4.12.0', maxRetries: 2, pollsAfterSuccess: false },
  { userAgent: 'python-requests/2.31', maxRetries: 0, pollsAfterSuccess: false },
  { userAgent: 'Go-http-client/1.1', maxRetries: 0, pollsAfterSuccess: true },
] as const;
/** Inside the demo's 2 s retry window, so that only the rule (success first) tells it from a retry. */
const POLL_AFTER_MS = 300;
const PATHS = ['/api/orders', '/api/users', '/api/search', '/static/logo.png'];
const RETRY_BACKOFF_MS = 50;

export function startTraffic(url: string, options: { ratePerSecond: number; concurrency: number }) {
  const tally: TrafficTally = { sent: 0, retriesSent: 0, repeatsSent: 0, byStatus: new Map(), byBackend: new Map(), errors: 0 };
  const agent = new Agent({ connections: options.concurrency });
  const intervalMs = (1000 * options.concurrency) / options.ratePerSecond;
  let isRunning = true;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const send = async (path: string, headers: Record<string, string>): Promise<number> => {
    const res = await request(`${url}${path}`, { dispatcher: agent, headers });
    await res.body.dump();
    tally.sent++;
    tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
    const servedBy = String(res.headers['x-served-by'] ?? 'sibyl');
    tally.byBackend.set(servedBy, (tally.byBackend.get(servedBy) ?? 0) + 1);
    return res.statusCode;
  };

  const client = async (worker: number): Promise<void> => {
    const population = POPULATIONS[worker % POPULATIONS.length] as (typeof POPULATIONS)[number];
    const headers = { 'x-client-id': `demo-client-${worker}`, 'user-agent': population.userAgent };
    let n = 0;
    while (isRunning) {
      const started = performance.now();
      const path = `${PATHS[n % PATHS.length]}/${worker}-${n++}`;
      try {
        let status = await send(path, headers);
        for (let retry = 0; retry < population.maxRetries && status >= 500 && isRunning; retry++) {
          await sleep(RETRY_BACKOFF_MS);
          tally.retriesSent++;
          status = await send(path, headers);
        }
        if (population.pollsAfterSuccess && status < 500 && isRunning) {
          await sleep(POLL_AFTER_MS);
          tally.repeatsSent++;
          await send(path, headers);
        }
      } catch {
        tally.errors++;
      }
      const wait = intervalMs - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
  };
  const loops = Array.from({ length: options.concurrency }, (_, w) => client(w));
  return {
    tally,
    async stop(): Promise<void> {
      isRunning = false;
      await Promise.allSettled(loops);
      await agent.close();
    },
  };
}
