// Value types shared by the schema's keys. Each carries a `docType` so the generated docs name it.
import * as z from 'zod';
import { parseHostPort } from '../core/address.ts';
import { formatDurationMs, parseDurationMs } from '../core/duration.ts';

/** Node timers fire at once (with a warning) beyond 2^31-1 ms, so no duration or millis may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647;

const DURATION_HINT = 'a duration like "10s", "500ms", "2m" or "1h"';

/** A duration string in TOML, a number of milliseconds after parsing. */
export function duration(options: { allowZero?: boolean } = {}) {
  const min = options.allowZero === true ? 0 : 1;
  return z
    .string({ error: `expected ${DURATION_HINT}` })
    .transform((text, ctx) => {
      const ms = parseDurationMs(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(text)}: expected ${DURATION_HINT}` });
        return z.NEVER;
      }
      if (ms < min) ctx.addIssue({ code: 'custom', message: 'must be greater than 0' });
      if (ms > MAX_TIMER_MS) ctx.addIssue({ code: 'custom', message: `must be at most ${formatDurationMs(MAX_TIMER_MS)} (Node timer limit)` });
      return ms;
    })
    .meta({ docType: options.allowZero === true ? 'duration (0 allowed)' : 'duration' });
}

/** An integer number of milliseconds, as the seed's `*_millis` keys are written. */
export function millis() {
  return z.int().min(0).max(MAX_TIMER_MS).meta({ docType: 'integer (ms)' });
}

/**
 * A "host:port" (or "[v6]:port") string. Listen addresses may use port 0 (an ephemeral port, as tests
 * do); a backend address needs a real port.
 */
export function address(kind: 'listen' | 'backend') {
  const minPort = kind === 'listen' ? 0 : 1;
  return z
    .string({ error: 'expected a "host:port" string' })
    .superRefine((text, ctx) => {
      const parsed = parseHostPort(text);
      if (parsed === undefined || parsed.host === '') {
        ctx.addIssue({ code: 'custom', message: `invalid address ${JSON.stringify(text)}: expected "host:port" or "[ipv6]:port"` });
      } else if (parsed.port < minPort) {
        ctx.addIssue({ code: 'custom', message: `invalid address ${JSON.stringify(text)}: port must be 1..65535` });
      }
    })
    .meta({ docType: '"host:port"' });
}

export interface StatusRange {
  min: number;
  max: number;
}

/** Parses "200-399" or "204" into an inclusive range of HTTP status codes; undefined when invalid. */
export function parseStatusRange(text: string): StatusRange | undefined {
  const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(text);
  if (m === null) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (min < 100 || max > 599 || min > max) return undefined;
  return { min, max };
}

/** A status code or "min-max" range string in TOML, a {min, max} pair after parsing. */
export function statusRange() {
  return z
    .string({ error: 'expected a status code or range string like "200-399"' })
    .transform((text, ctx) => {
      const range = parseStatusRange(text);
      if (range === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid status range ${JSON.stringify(text)}: expected "200-399" or "200", codes 100..599, min <= max` });
        return z.NEVER;
      }
      return range;
    })
    .meta({ docType: 'status range' });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An HTTP header name, lowercased as Node presents incoming headers. */
export function headerName() {
  return z
    .string()
    .regex(TOKEN, { error: 'must be a valid HTTP header name' })
    .transform((name) => name.toLowerCase())
    .meta({ docType: 'header name' });
}

/** `client_ip`, or `header:<name>` (name lowercased). */
export function hashKey() {
  return z
    .string()
    .superRefine((text, ctx) => {
      if (text === 'client_ip') return;
      if (text.startsWith('header:') && TOKEN.test(text.slice('header:'.length))) return;
      ctx.addIssue({ code: 'custom', message: `invalid hash key ${JSON.stringify(text)}: expected "client_ip" or "header:<name>"` });
    })
    .transform((text) => text.toLowerCase())
    .meta({ docType: '"client_ip" or "header:NAME"' });
}

/** A URL path served or probed by Sibyl. */
export function urlPath() {
  return z
    .string()
    .regex(/^\/\S*$/, { error: 'must start with "/" and contain no spaces' })
    .meta({ docType: 'URL path' });
}

export function fraction() {
  return z.number().min(0).max(1);
}

export function percent() {
  return z.number().min(0).max(100);
}

/**
 * Marks a key, or a whole table, that a reload cannot apply: it takes effect at the next restart. A
 * reload that changes it names it in its `needsRestart` list (diff.ts) and the docs say so; every
 * other key applies on reload.
 */
export function restartOnly<T extends z.ZodType>(schema: T): T {
  return schema.meta({ reload: 'restart' });
}
