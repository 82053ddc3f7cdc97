// "Did you mean `x`?" for unknown keys and enum values.

export const MAX_SUGGESTION_EDITS = 3;

/** Levenshtein distance: insertions, deletions and substitutions each cost one edit. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The closest candidate within MAX_SUGGESTION_EDITS edits, or undefined. A candidate must also keep
 * some of its own letters (distance below its length), so `ab` does not suggest `id`.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance && distance <= MAX_SUGGESTION_EDITS && distance < candidate.length) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
