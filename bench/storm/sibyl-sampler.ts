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
  /** The limiters' learned no-load latency per backend. */
  readonly noLoadMs: readonly number[];
  /** The lag the limiters see (worst of the last ~100 ms). */
  readonly limiterLagMs: number;
  /** Attempts without a valid backend response, by error kind (cumulative). */
  readonly upstreamErrors: Readonly<Record<string, number>>;
  /** Requests Sibyl answered 503 itself, by reason (cumulative). */
  readonly shedByReason: Readonly<Record<string, number>>;
  /** Client give-ups by what the patience estimator took them for (cumulative). */
  readonly giveUps: Readonly<Record<string, number>>;
  /** Queued requests dropped because their client left (cumulative). */
  readonly queueAbandoned: number;
  /** Requests answered, by status class (cumulative, every backend and none). */
  readonly answered: Readonly<Record<string, number>>;
}

function sum(text: string, family: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${family}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

function values(text: string, family: string): number[] {
  return [...text.matchAll(new RegExp(`^${family}\\{[^}]*\\} (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
}

function byLabel(text: string, family: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${family}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const key = new RegExp(`${label}="([^"]*)"`).exec(m[1] ?? '')?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Samples until `stop` is aborted; resolves with the samples (ms from `startAt`). */
export async function sampleSibyl(adminUrl: string, startAt: number, stop: AbortSignal): Promise<ShedSample[]> {
  const samples: ShedSample[] = [];
  // one last scrape after `stop`: the final counters (what Sibyl shed in all) are in the last sample
  for (;;) {
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
        noLoadMs: values(text, 'sibyl_protect_no_load_latency_seconds').map((s) => 1000 * s),
        limiterLagMs: 1000 * sum(text, 'sibyl_protect_event_loop_lag_seconds'),
        upstreamErrors: byLabel(text, 'sibyl_proxy_upstream_errors_total', 'error_kind'),
        shedByReason: byLabel(text, 'sibyl_protect_shed_total', 'reason'),
        giveUps: byLabel(text, 'sibyl_protect_client_give_ups_total', 'taken_as'),
        queueAbandoned: sum(text, 'sibyl_protect_queue_abandoned_total'),
        answered: byLabel(text, 'sibyl_proxy_requests_total', 'status_class'),
      });
    } catch {
      // a scrape that times out under load is a gap, not a failure of the run
    }
    if (stop.aborted) break;
    await sleep(1000, undefined, { signal: stop }).catch(() => undefined);
  }
  return samples;
}
