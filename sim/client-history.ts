// The client's own recent retry behaviour (clientRetryRate, clientLabelCount), computed the way a
// live learner can: from labels already known when the request started, per client key and
// response class and method group, decayed with a half-life. The formulas mirror
// src/telemetry/client-profile.ts (its classes, decay, rate = retried / (labels + 1)) so that
// offline data matches live features.
import { decayFactor } from '../src/core/ewma.ts';
import type { ErrorKind } from '../src/core/outcome.ts';
import { HISTORY_SLOTS, responseClassOf as liveResponseClassOf, type HistorySlot, type ResponseClass } from '../src/telemetry/client-profile.ts';

export type { HistorySlot, ResponseClass };

export function responseClassOf(status: number, errorKind: ErrorKind): ResponseClass {
  return liveResponseClassOf(status, errorKind !== 'none');
}


export interface HistoryInput {
  readonly clientKey: string;
  /** telemetry/client-profile.ts historySlotOf: response class, method group, attempt. */
  readonly slot: HistorySlot;
  readonly startedAtMs: number;
  readonly retried: 0 | 1;
  readonly labelKnownAtMs: number;
}

export interface ClientRetryStats {
  readonly rate: number;
  readonly count: number;
}

interface Profile {
  updatedAtMs: number;
  /** [labels, retried] per class, decayed together. */
  readonly counts: Float64Array;
}

/** Stats for each input (sorted by startedAtMs), from the labels revealed up to its start. */
export function clientRetryHistory(inputs: readonly HistoryInput[], halfLifeMs: number): ClientRetryStats[] {
  const reveals = inputs.map((_, i) => i).sort((x, y) => (inputs[x] as HistoryInput).labelKnownAtMs - (inputs[y] as HistoryInput).labelKnownAtMs);
  const profiles = new Map<string, Profile>();
  const out = new Array<ClientRetryStats>(inputs.length);
  let r = 0;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as HistoryInput;
    for (; r < reveals.length; r++) {
      const known = inputs[reveals[r] as number] as HistoryInput;
      if (known.labelKnownAtMs > input.startedAtMs) break;
      observe(profiles, known, halfLifeMs);
    }
    out[i] = statsOf(profiles.get(input.clientKey), input.slot, input.startedAtMs, halfLifeMs);
  }
  return out;
}

function observe(profiles: Map<string, Profile>, known: HistoryInput, halfLifeMs: number): void {
  const now = known.labelKnownAtMs;
  let p = profiles.get(known.clientKey);
  if (p === undefined) {
    p = { updatedAtMs: now, counts: new Float64Array(HISTORY_SLOTS * 2) };
    profiles.set(known.clientKey, p);
  } else {
    const keep = decayFactor(now - p.updatedAtMs, halfLifeMs);
    for (let k = 0; k < p.counts.length; k++) p.counts[k] = (p.counts[k] as number) * keep;
    p.updatedAtMs = now;
  }
  const k = known.slot * 2;
  p.counts[k] = (p.counts[k] as number) + 1;
  p.counts[k + 1] = (p.counts[k + 1] as number) + known.retried;
}

function statsOf(p: Profile | undefined, slot: HistorySlot, nowMs: number, halfLifeMs: number): ClientRetryStats {
  if (p === undefined) return { rate: 0, count: 0 };
  const keep = decayFactor(nowMs - p.updatedAtMs, halfLifeMs);
  const k = slot * 2;
  const labels = (p.counts[k] as number) * keep;
  const retried = (p.counts[k + 1] as number) * keep;
  return { rate: retried / (labels + 1), count: labels };
}
