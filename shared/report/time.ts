// Time arithmetic for reports: everything is compared as epoch milliseconds and printed as ISO-8601 UTC,
// so "2026-03-01T00:00:00Z" and "2026-03-01T00:00:00.000Z" are the same instant.

export function toMs(iso: string, what = "time"): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`${what} is not a valid ISO-8601 time: "${iso}"`);
  return ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "3d 4h 5m", "4h 0m 12s", "4h", "45s": at most three units, largest first, no trailing zero units. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const units: Array<[string, number]> = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  const first = units.findIndex(([, size]) => seconds >= size);
  if (first === -1) return `${ms}ms`;
  let rest = seconds;
  const parts: string[] = [];
  for (const [unit, size] of units.slice(first, first + 3)) {
    parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  while (parts.length > 1 && parts.at(-1)!.startsWith("0")) parts.pop();
  return parts.join(" ");
}
