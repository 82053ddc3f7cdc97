// What a runtime command (drain, weight, rollout and blue-green commands) answers when it refuses:
// a domain reason and a message for the operator. The runtime knows no HTTP; the admin listener
// maps each reason to its status and error code in one place (admin/problems.ts).
export const Refusal = {
  unknownBackend: 'unknown-backend',
  invalidWeight: 'invalid-weight',
  unknownRollout: 'unknown-rollout',
  invalidTransition: 'invalid-transition',
  unknownBlueGreen: 'unknown-blue-green',
  smokeFailed: 'smoke-failed',
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

export interface Refused {
  readonly ok: false;
  readonly reason: Refusal;
  readonly message: string;
}

export function refused(reason: Refusal, message: string): Refused {
  return { ok: false, reason, message };
}
