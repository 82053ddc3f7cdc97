// Samples Sibyl's load-shedding state once a second during a live run (from its /metrics), so a
// run can be explained: the learned limits, the queue, the deadline, what was shed.
import { setTimeout as sleep } from 'node:timers/promises';

export interface ShedSample {
  readonly tMs: number;
  readonly limits: readonly number[];
  readonly queue: number;
  readonly deadlineMs: number;
  readonly shed: number;
  readonly waste: number;
  /** Sibyl's own event-loop delay (p99 since the previous scrape): how CPU-starved the proxy was. */
  readonly loopLagP99Ms: number;
}

function sum(text: string, family: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${family}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

function values(text: string, family: string): number[] {
  return [...text.matchAll(new RegExp(`^${family}\\{[^}]*\\} (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
}

/** Samples until `stop` is aborted; resolves with the samples (ms from `startAt`). */
export async function sampleSibyl(adminUrl: string, startAt: number, stop: AbortSignal): Promise<ShedSample[]> {
  const samples: ShedSample[] = [];
  while (!stop.aborted) {
    try {
      const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(900) })).text();
      samples.push({
        tMs: Date.now() - startAt,
        limits: values(text, 'sibyl_protect_concurrency_limit'),
        queue: sum(text, 'sibyl_protect_queue_length'),
        deadlineMs: 1000 * sum(text, 'sibyl_protect_queue_deadline_seconds'),
        shed: sum(text, 'sibyl_protect_shed_total'),
        waste: sum(text, 'sibyl_protect_waste_total'),
        loopLagP99Ms: 1000 * sum(text, 'sibyl_process_nodejs_eventloop_lag_p99_seconds'),
      });
    } catch {
      // a scrape that times out under load is a gap, not a failure of the run
    }
    await sleep(1000, undefined, { signal: stop }).catch(() => undefined);
  }
  return samples;
}
