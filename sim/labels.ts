// Ground truth, computed from the arrivals alone (not from what the clients meant to do), with the
// words of DESIGN.md "Retry intelligence":
// - attempt number: 1 + how many requests with the same client key and fingerprint arrived within
//   the retry window before this one;
// - retried = 1 when another request with the same client key and fingerprint arrives after this
//   one started and within the window after it ended (so also while it is still in flight).
// Arrivals with the same start time keep their input order: the earlier one arrived first.

export interface Arrival {
  readonly clientKey: string;
  readonly fingerprint: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
}

export interface ArrivalLabel {
  readonly attempt: number;
  readonly retried: 0 | 1;
  /**
   * When a live labeller could know the label: when the next arrival came (but not before the
   * response ended, since the response class is only known then), or when the window closed.
   */
  readonly labelKnownAtMs: number;
}

export function labelArrivals(arrivals: readonly Arrival[], windowMs: number): ArrivalLabel[] {
  const groups = new Map<string, number[]>();
  arrivals.forEach((a, i) => {
    const key = `${a.clientKey}\u0000${a.fingerprint}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [i]);
    else group.push(i);
  });
  const labels = new Array<ArrivalLabel>(arrivals.length);
  for (const group of groups.values()) {
    // stable: equal start times keep arrival order
    group.sort((x, y) => at(arrivals, x).startedAtMs - at(arrivals, y).startedAtMs);
    let oldest = 0;
    for (let k = 0; k < group.length; k++) {
      const i = group[k] as number;
      const a = at(arrivals, i);
      while (at(arrivals, group[oldest] as number).startedAtMs < a.startedAtMs - windowMs) oldest++;
      const nextIndex = group[k + 1];
      const next = nextIndex === undefined ? undefined : at(arrivals, nextIndex);
      const isRetried = next !== undefined && next.startedAtMs <= a.endedAtMs + windowMs;
      labels[i] = {
        attempt: 1 + k - oldest,
        retried: isRetried ? 1 : 0,
        labelKnownAtMs: isRetried ? Math.max(next.startedAtMs, a.endedAtMs) : a.endedAtMs + windowMs,
      };
    }
  }
  return labels;
}

function at(arrivals: readonly Arrival[], i: number): Arrival {
  return arrivals[i] as Arrival;
}
