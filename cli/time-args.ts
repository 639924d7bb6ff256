// Time options: an ISO date or date-time, or a duration back from now ("30d", "12h").
import { durationMs, UsageError } from "./args.ts";

export function timeOption(name: string, value: string, now: Date = new Date()): string {
  if (/^\d+(ms|s|m|h|d)$/.test(value.trim())) return new Date(now.getTime() - durationMs(name, value)).toISOString();
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const parsed = new Date(value.trim().length === 10 ? `${value.trim()}T00:00:00Z` : value.trim());
    if (!Number.isNaN(parsed.getTime())) return parsed.toISOString();
  }
  throw new UsageError(`--${name} must be an ISO date (2026-03-01), date-time, or a duration like 30d, got "${value}"`);
}
