// Populations of scripted retrying clients for e2e tests: each client has its own x-client-id and
// the population's User-Agent, sends new requests to new URLs (/item/<n>) and retries a response
// exactly when its policy says so, after a backoff, to the same URL. So the only requests sharing
// a (client key, fingerprint) are retries, and the true label of every attempt is known.
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export interface RetryPolicy {
  readonly userAgent: string;
  /** Whether the client retries a response with this status after `attempt` attempts (1 = the first). */
  readonly retries: (status: number, attempt: number) => boolean;
  readonly backoffMs: number;
  /** Most attempts one request can take under this policy (the budget reserves them). */
  readonly maxAttempts: number;
  /** Pause of a client between two new requests (not between retries): paces the traffic. */
  readonly thinkMs: number;
}

export interface Population {
  readonly name: string;
  readonly clients: number;
  readonly policy: RetryPolicy;
}

export interface PopulationResult {
  /** Attempts sent (first attempts and retries). */
  sent: number;
  retries: number;
  /** Attempts sent, by attempt number (1 = a first attempt). */
  readonly byAttempt: Map<number, number>;
  /** Attempts answered, by status. */
  readonly statuses: Map<number, number>;
  /** Attempts without a response, by error code. */
  readonly errors: Map<string, number>;
}

export interface DriveLimits {
  /** Upper bound on attempts over all clients: a request starts only when all its retries fit. */
  readonly maxRequests: number;
  /** No new request starts after this (retries of started ones still run, a few per client). */
  readonly maxDurationMs: number;
  /** Called after every answered attempt, with the number sent so far over all populations. */
  readonly onProgress?: (sent: number) => void;
  /** Checked before each new request: true stops the drive (retries of started ones still run). */
  readonly isDone?: () => boolean;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Runs every client of every population concurrently until the limits; resolves with what each population did. */
export async function drivePopulations(baseUrl: string, populations: readonly Population[], limits: DriveLimits): Promise<Map<string, PopulationResult>> {
  const totalClients = populations.reduce((sum, p) => sum + p.clients, 0);
  const dispatcher = new Agent({ connections: totalClients });
  const deadline = Date.now() + limits.maxDurationMs;
  let sent = 0;
  let reserved = 0;
  let nextItem = 0;
  const results = new Map<string, PopulationResult>();

  const client = async (population: Population, clientId: string, result: PopulationResult): Promise<void> => {
    const { policy } = population;
    const mayStart = (): boolean => Date.now() < deadline && reserved + policy.maxAttempts <= limits.maxRequests && limits.isDone?.() !== true;
    while (mayStart()) {
      reserved += policy.maxAttempts;
      const url = `${baseUrl}/item/${nextItem++}`;
      let attempts = 0;
      for (;;) {
        attempts++;
        sent++;
        result.sent++;
        bump(result.byAttempt, attempts);
        let status = 0;
        try {
          const res = await request(url, { dispatcher, headers: { 'x-client-id': clientId, 'user-agent': policy.userAgent } });
          await res.body.text();
          status = res.statusCode;
          bump(result.statuses, status);
        } catch (err) {
          bump(result.errors, (err as { code?: string }).code ?? String(err));
        }
        limits.onProgress?.(sent);
        if (attempts >= policy.maxAttempts || !policy.retries(status, attempts)) break;
        result.retries++;
        await sleep(policy.backoffMs);
      }
      reserved -= policy.maxAttempts - attempts;
      await sleep(policy.thinkMs);
    }
  };

  const runs: Promise<void>[] = [];
  for (const population of populations) {
    const result: PopulationResult = { sent: 0, retries: 0, byAttempt: new Map(), statuses: new Map(), errors: new Map() };
    results.set(population.name, result);
    for (let i = 0; i < population.clients; i++) runs.push(client(population, `${population.name}-client-${i}`, result));
  }
  try {
    await Promise.all(runs);
  } finally {
    await dispatcher.destroy();
  }
  return results;
}

/** A readable summary for assertion messages and diagnostics. */
export function describePopulations(results: Map<string, PopulationResult>): string {
  return JSON.stringify(
    Object.fromEntries([...results].map(([name, r]) => [name, { sent: r.sent, retries: r.retries, byAttempt: Object.fromEntries(r.byAttempt), statuses: Object.fromEntries(r.statuses), errors: Object.fromEntries(r.errors) }])),
  );
}
