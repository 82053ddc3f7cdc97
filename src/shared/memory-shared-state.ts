// SharedState in this process: the embedded default, and a deterministic stand-in for Redis in tests
// (several limiters on one memory store behave like several instances on one Redis).
import type { Clock } from '../core/clock.ts';
import { applyReport, type BucketReport, type ModelPush, type SharedState, type SparseCoordinates } from './shared-state.ts';

export interface MemorySharedState extends SharedState {
  /** Tests: make the store fail as an unreachable Redis would. */
  isReachable: boolean;
}

export function createMemorySharedState(clock: Clock): MemorySharedState {
  const buckets = new Map<string, { tokens: number; atMs: number; touchedAtMs: number; ttlMs: number }>();
  const models = new Map<string, Map<number, { z: number; n: number }>>();
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
    pushModel(push: ModelPush): Promise<SparseCoordinates | undefined> {
      if (!state.isReachable) return Promise.reject(new Error('memory shared state: unreachable (test)'));
      let model = models.get(push.key);
      const c = push.coordinates;
      if (model === undefined) {
        if (push.mode !== 'init') return Promise.resolve(undefined);
        model = new Map(c.indices.map((i, k) => [i, { z: c.z[k]!, n: c.n[k]! }]));
        models.set(push.key, model);
      } else if (push.mode === 'changes') {
        c.indices.forEach((i, k) => {
          const was = model!.get(i) ?? { z: 0, n: 0 };
          model!.set(i, { z: was.z + c.z[k]!, n: was.n + c.n[k]! });
        });
      }
      const out: SparseCoordinates = { indices: [], z: [], n: [] };
      for (const [i, v] of model) {
        out.indices.push(i);
        out.z.push(v.z);
        out.n.push(v.n);
      }
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
  return state;
}
