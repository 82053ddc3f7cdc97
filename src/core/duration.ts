// Durations in config are strings like "10s", "500ms", "2m", "1h".
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Returns milliseconds, or undefined when the string is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (m === null) return undefined;
  const [, value, unit] = m;
  return Math.round(Number(value) * UNIT_MS[unit as keyof typeof UNIT_MS]);
}

export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
