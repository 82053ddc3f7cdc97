// Which changed keys a reload cannot apply. Every key either applies on reload or is marked in the
// schema with `restartOnly()` (fields.ts); a marked table marks all its keys. A reload compares the
// config the process started with and the new one, and names each marked key whose value differs,
// so that the reload's answer and log say what waits for a restart.
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod';
import { formatPath } from './keys.ts';
import { configSchema, type Config } from './schema.ts';

interface JsonSchema {
  reload?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

let cached: JsonSchema | undefined;
const jsonSchema = (): JsonSchema => (cached ??= z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema);

const child = (value: unknown, key: PropertyKey): unknown => (typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined);

function walk(s: JsonSchema, before: unknown, after: unknown, path: PropertyKey[], out: Set<string>): void {
  if (isDeepStrictEqual(before, after)) return;
  if (s.reload === 'restart') {
    out.add(formatPath(path));
    return;
  }
  for (const variant of s.anyOf ?? []) walk(variant, before, after, path, out);
  for (const [key, sub] of Object.entries(s.properties ?? {})) walk(sub, child(before, key), child(after, key), [...path, key], out);
  if (s.items !== undefined) {
    const length = Math.max(Array.isArray(before) ? before.length : 0, Array.isArray(after) ? after.length : 0);
    for (let i = 0; i < length; i++) walk(s.items, child(before, i), child(after, i), [...path, i], out);
  }
}

/** The keys (snake_case paths, as `proxy.listen_address`) that differ and take effect only after a restart. */
export function restartNeeded(running: Config, next: Config): string[] {
  const out = new Set<string>();
  walk(jsonSchema(), running, next, [], out);
  return [...out];
}

