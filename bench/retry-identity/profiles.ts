// The fault profiles the harness runs in sequence against one Sibyl process. A profile is a list of
// phases, each starting at a share of the profile's duration and setting every backend's mode.
import type { FaultMode } from './api-backends.ts';

export interface FaultPhase {
  /** Start of the phase as a share of the profile's duration, in [0, 1). */
  readonly fromShare: number;
  /** Backend index -> mode; unlisted backends are healthy. */
  readonly modes: Readonly<Record<number, FaultMode>>;
}

export interface FaultProfile {
  readonly name: string;
  readonly summary: string;
  readonly phases: readonly FaultPhase[];
}

const throttleAll: Record<number, FaultMode> = { 0: { kind: 'throttle' }, 1: { kind: 'throttle' }, 2: { kind: 'throttle' } };

export const FAULT_PROFILES: readonly FaultProfile[] = [
  { name: 'healthy', summary: 'every backend answers 200', phases: [{ fromShare: 0, modes: {} }] },
  { name: 'flaky_5xx', summary: 'api-0 answers 500 to 20 % of requests', phases: [{ fromShare: 0, modes: { 0: { kind: 'errors', rate: 0.2 } } }] },
  {
    name: 'throttle_429',
    summary: `every backend throttles per credential (5/s, burst 5): 429 + Retry-After: 1; DynamoDB 400 ProvisionedThroughputExceededException`,
    phases: [{ fromShare: 0, modes: throttleAll }],
  },
  {
    name: 'brownout',
    summary: 'api-0 slow (300-800 ms) for the first half, then 503 to everything',
    phases: [
      { fromShare: 0, modes: { 0: { kind: 'slow', minMs: 300, maxMs: 800 } } },
      { fromShare: 0.5, modes: { 0: { kind: 'unavailable' } } },
    ],
  },
  { name: 'resets', summary: 'api-0 destroys 15 % of sockets before answering', phases: [{ fromShare: 0, modes: { 0: { kind: 'resets', rate: 0.15 } } }] },
];

/** The modes in force at `elapsedShare` of the profile. */
export function modesAt(profile: FaultProfile, elapsedShare: number): FaultPhase['modes'] {
  let modes = profile.phases[0]?.modes ?? {};
  for (const phase of profile.phases) if (phase.fromShare <= elapsedShare) modes = phase.modes;
  return modes;
}
