// SharedState in this process: the embedded default, and a deterministic stand-in for Redis in tests
// (several limiters on one memory store behave like several instances on one Redis).
import type { Clock } from '../core/clock.ts';
import { applyReport, type BucketReport, type SharedState } from './shared-state.ts';

export interface MemorySharedState extends SharedState {
  /** Tests: make the store fail as an unreachable Redis would. */
  isReachable: boolean;
}

export function createMemorySharedState(clock: Clock): MemorySharedState {
  const buckets = new Map<string, { tokens: number; atMs: number; touchedAtMs: number; ttlMs: number }>();
  const state: MemorySharedState = {
    isReachable: true,
    takeTokens(reports: readonly BucketReport[]): Promise<number[]> {
      if (!state.isReachable) return Promise.reject(new Error('memory shared state: unreachable (test)'));
      const now = clock.now();
      for (const [key, b] of buckets) if (now - b.touchedAtMs > b.ttlMs) buckets.delete(key);
      return Promise.resolve(
        reports.map((r) => {
          const next = applyReport(buckets.get(r.key), r, now);
          buckets.set(r.key, { ...next, touchedAtMs: now, ttlMs: r.ttlMs });
          return next.tokens;
        }),
      );
    },
    close: () => Promise.resolve(),
  };
  return state;
}
