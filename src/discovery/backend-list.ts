// Backend lists read by file discovery, and the comparison that tells whether a refresh changed
// anything. The list format is the config's [[backends]] (address, optional name, id and weight).
import * as z from 'zod';
import { checkBackendsUnique } from '../config/checks.ts';
import { backendSchema } from '../config/schema.ts';
import type { DiscoveredBackend } from './discovery.ts';

const listSchema = z
  .array(backendSchema)
  .superRefine(checkBackendsUnique, { when: () => true })
  .transform((list) => list.map((b) => ({ name: b.name ?? b.address, address: b.address, weight: b.weight })));

/** Accepts a list, or a document with a `backends` list (as a TOML file of [[backends]] is). */
export function parseBackendList(document: unknown): { ok: true; backends: DiscoveredBackend[] } | { ok: false; message: string } {
  const list = Array.isArray(document) ? document : (document as { backends?: unknown } | null)?.backends;
  if (!Array.isArray(list)) return { ok: false, message: 'expected a list of backends, or a "backends" list' };
  const parsed = listSchema.safeParse(list);
  if (parsed.success) return { ok: true, backends: parsed.data };
  // the first problem is enough to tell the operator which entry to fix
  const issue = parsed.error.issues[0];
  const [index, ...rest] = issue?.path ?? [];
  const where = index === undefined ? 'backends' : `backends[${String(index)}]${rest.map((k) => `.${String(k)}`).join('')}`;
  return { ok: false, message: `${where}: ${issue?.message ?? 'invalid'}` };
}

/** A canonical order, so that two answers with the same backends in another order are equal. */
export function sortBackends(list: readonly DiscoveredBackend[]): DiscoveredBackend[] {
  return [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export function isSameBackendSet(a: readonly DiscoveredBackend[], b: readonly DiscoveredBackend[]): boolean {
  if (a.length !== b.length) return false;
  const x = sortBackends(a);
  const y = sortBackends(b);
  return x.every((v, i) => v.name === y[i]?.name && v.address === y[i]?.address && v.weight === y[i]?.weight);
}
