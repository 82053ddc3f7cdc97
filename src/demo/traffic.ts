// Steady demo traffic: a few concurrent loops sending real HTTP requests through Sibyl at a
// bounded rate, tallying what came back. Stops when told to.
import { Agent, request } from 'undici';

export interface TrafficTally {
  sent: number;
  byStatus: Map<number, number>;
  byBackend: Map<string, number>;
  errors: number;
}

export function startTraffic(url: string, options: { ratePerSecond: number; concurrency: number }) {
  const tally: TrafficTally = { sent: 0, byStatus: new Map(), byBackend: new Map(), errors: 0 };
  const agent = new Agent({ connections: options.concurrency });
  const intervalMs = (1000 * options.concurrency) / options.ratePerSecond;
  let isRunning = true;
  const paths = ['/api/orders', '/api/users/42', '/api/search?q=retry', '/static/logo.png'];
  const loop = async (worker: number): Promise<void> => {
    let i = worker;
    while (isRunning) {
      const started = performance.now();
      try {
        const res = await request(`${url}${paths[i++ % paths.length]}`, { dispatcher: agent });
        await res.body.dump();
        tally.sent++;
        tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
        const servedBy = String(res.headers['x-served-by'] ?? 'sibyl');
        tally.byBackend.set(servedBy, (tally.byBackend.get(servedBy) ?? 0) + 1);
      } catch {
        tally.errors++;
      }
      const wait = intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const loops = Array.from({ length: options.concurrency }, (_, w) => loop(w));
  return {
    tally,
    async stop(): Promise<void> {
      isRunning = false;
      await Promise.allSettled(loops);
      await agent.close();
    },
  };
}
