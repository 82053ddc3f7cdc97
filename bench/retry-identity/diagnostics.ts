// What Sibyl recorded that a reader should look at besides the scores: whether each client instance
// got one client key of its own, whether the access log saw each instance's own source address,
// whether every response a client received has a record, and whether Sibyl's attempt number and
// repeat flag match what the libraries did.
import type { AttemptRecord } from './attempt-recorder.ts';
import type { SibylRecord } from './sibyl-records.ts';

export interface Diagnostics {
  readonly instances: number;
  /** Instances whose responses carry more than one client key, and client keys shared by instances. */
  readonly instancesWithSeveralKeys: number;
  readonly keysSharedByInstances: number;
  readonly instancesWithoutKey: number;
  /** Access-log lines whose client IP is not the instance's own source address. */
  readonly wrongClientIps: number;
  readonly checkedClientIps: number;
  /** Responses the clients received whose request id Sibyl recorded nowhere. */
  readonly unknownRequestIds: number;
  /** Sibyl records that no client saw (e.g. answered after the client gave up). */
  readonly unseenSibylRecords: number;
  /** Sibyl's attempt number equal to the library's attempt index (a repeat starts at 1), of those compared. */
  readonly attemptNumberMatches: number;
  readonly attemptNumbersCompared: number;
  /** Repeats (application re-sends) and how many Sibyl flagged as repeats (undefined: it writes no flag). */
  readonly repeats: number;
  readonly repeatsFlagged: number | undefined;
  /** Attempts followed by a repeat (not by a retry) that Sibyl labelled retried. */
  readonly repeatedLabelledRetried: number;
  readonly repeatsWithAttemptAbove1: number;
}

export function diagnose(attempts: readonly AttemptRecord[], sibyl: ReadonlyMap<string, SibylRecord>, localAddressOf: ReadonlyMap<string, string>): Diagnostics {
  const keysByInstance = new Map<string, Set<string>>();
  const instancesByKey = new Map<string, Set<string>>();
  let wrongClientIps = 0;
  let checkedClientIps = 0;
  let unknownRequestIds = 0;
  let attemptNumberMatches = 0;
  let attemptNumbersCompared = 0;
  let repeatsFlagged: number | undefined;
  let repeatedLabelledRetried = 0;
  let repeatsWithAttemptAbove1 = 0;
  const seenIds = new Set<string>();
  for (const a of attempts) {
    if (!keysByInstance.has(a.instance)) keysByInstance.set(a.instance, new Set());
    if (a.requestId === undefined) continue;
    seenIds.add(a.requestId);
    const s = sibyl.get(a.requestId);
    if (s === undefined) {
      unknownRequestIds++;
      continue;
    }
    if (s.clientKey !== undefined) {
      keysByInstance.get(a.instance)!.add(s.clientKey);
      instancesByKey.set(s.clientKey, (instancesByKey.get(s.clientKey) ?? new Set()).add(a.instance));
    }
    if (s.clientIp !== undefined) {
      checkedClientIps++;
      if (s.clientIp.replace(/^::ffff:/, '') !== localAddressOf.get(a.instance)) wrongClientIps++;
    }
    if (s.attempt !== undefined) {
      attemptNumbersCompared++;
      if (s.attempt === a.attemptIndex) attemptNumberMatches++;
    }
    if (a.isFollowedByRepeat && s.retried === 1) repeatedLabelledRetried++;
    if (a.isRepeat && a.attemptIndex === 1) {
      if (s.repeat !== undefined) repeatsFlagged = (repeatsFlagged ?? 0) + (s.repeat ? 1 : 0);
      if (s.attempt !== undefined && s.attempt > 1) repeatsWithAttemptAbove1++;
    }
  }
  return {
    instances: keysByInstance.size,
    instancesWithSeveralKeys: [...keysByInstance.values()].filter((k) => k.size > 1).length,
    keysSharedByInstances: [...instancesByKey.values()].filter((i) => i.size > 1).length,
    instancesWithoutKey: [...keysByInstance.values()].filter((k) => k.size === 0).length,
    wrongClientIps,
    checkedClientIps,
    unknownRequestIds,
    unseenSibylRecords: [...sibyl.keys()].filter((id) => !seenIds.has(id)).length,
    attemptNumberMatches,
    attemptNumbersCompared,
    repeats: attempts.filter((a) => a.isRepeat && a.attemptIndex === 1).length,
    repeatsFlagged,
    repeatedLabelledRetried,
    repeatsWithAttemptAbove1,
  };
}
