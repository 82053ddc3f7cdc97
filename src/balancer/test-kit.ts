// Test-only helpers shared by the strategy tests. Pure (fast-check is a dev dependency used only by tests).
import fc from 'fast-check';
import type { Balancer, Candidate, PickRequest } from './balancer.ts';

/** Any non-empty set of candidates with distinct ids and arbitrary live state, for property tests. */
export const candidatesArb = fc.uniqueArray(
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 6 }),
    effectiveWeight: fc.double({ min: 0.01, max: 100, noNaN: true }),
    inFlight: fc.nat(100),
    latencyEwmaMs: fc.double({ min: 0, max: 1000, noNaN: true }),
    errorEwma: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  { minLength: 1, maxLength: 20, selector: (c) => c.id },
);


/** A Candidate whose live fields a test can change between picks, as the runtime does. */
export type TestCandidate = { -readonly [K in keyof Candidate]: Candidate[K] };

export function makeCandidate(id: string, fields: Partial<Omit<TestCandidate, 'id'>> = {}): TestCandidate {
  return { id, effectiveWeight: 1, inFlight: 0, latencyEwmaMs: 0, errorEwma: 0, ...fields };
}

/** Candidates "a", "b", ... with one weight each. */
export function makeWeighted(weights: readonly number[]): TestCandidate[] {
  return weights.map((w, i) => makeCandidate(String.fromCharCode(97 + i), { effectiveWeight: w }));
}

export const NO_KEY: PickRequest = { hashKey: '' };

/** Share of picks per candidate id over `picks` picks, for the same request and set. */
export function shares(balancer: Balancer, candidates: readonly Candidate[], picks: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of candidates) counts.set(c.id, 0);
  for (let i = 0; i < picks; i++) {
    const picked = balancer.pick(NO_KEY, candidates);
    if (picked === undefined) throw new Error('pick returned undefined for a non-empty set');
    counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
  }
  const result = new Map<string, number>();
  for (const [id, count] of counts) result.set(id, count / picks);
  return result;
}

/** Ids of the picks, in order. */
export function sequence(balancer: Balancer, candidates: readonly Candidate[], picks: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < picks; i++) ids.push(balancer.pick(NO_KEY, candidates)?.id ?? '<undefined>');
  return ids;
}
