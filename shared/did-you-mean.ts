// "Did you mean": the closest known name to a mistyped one (the CLI's commands, the CDK app's context keys).

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known name nearest to `word` (case-insensitive), when it is close enough to be a typo: at most
 * 2 edits, and fewer than half the word's length. Ties go to the first candidate.
 */
export function closestName(word: string, candidates: readonly string[]): string | null {
  const limit = Math.min(2, Math.ceil(word.length / 2) - 1);
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A prefix of a longer name ("hist" for history) counts as a typo too.
  if (best !== null && bestDistance <= limit) return best;
  const prefixed = candidates.find((candidate) => word.length >= 3 && candidate.startsWith(word.toLowerCase()));
  return prefixed ?? null;
}
