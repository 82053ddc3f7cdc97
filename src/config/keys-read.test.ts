// A config key is a promise (STYLE.md): every key the schema documents must be read somewhere
// outside the config module, or it changes nothing. This walks the schema and fails on a key that
// no source file reads. No allow-list: a key read nowhere is implemented or removed.
//
// "Read" is found in the source text: a property access `.key` / `?.key` or a destructuring
// `{ key }` of the key's camelCase name. A name that several tables share (`enabled`, `path`, ...)
// counts only in a file that also names the key's table (singular or plural), so `[model] path`
// read in one place does not vouch for `[telemetry] path`. An alias (the seed's name for a key,
// marked `aliasOf` in the schema) is read when the key it spells is read.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as z from 'zod';
import { configSchema } from './schema.ts';

interface JsonSchema {
  type?: string;
  aliasOf?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

interface KeyPath {
  readonly table: string;
  readonly key: string;
  /** The key an alias spells: the one looked for in the sources. */
  readonly readAs: string;
}

function walk(s: JsonSchema, table: string, out: KeyPath[]): void {
  for (const variant of s.anyOf ?? []) walk(variant, table, out);
  if (s.items !== undefined) walk(s.items, table, out);
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    out.push({ table, key, readAs: child.aliasOf ?? key });
    walk(child, key, out);
  }
}

/** Files that define or check the config rather than act on it. */
const CONFIG_DEFINITION = /^src\/config\/(schema[^/]*|docs|checks[^/]*|fields|env|suggest|keys|issues)\.ts$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.test.ts'))
    .map((d) => join(d.parentPath, d.name))
    .filter((p) => !CONFIG_DEFINITION.test(p));
}

test('every documented config key is read somewhere outside the config schema', () => {
  const root = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema;
  const keys: KeyPath[] = [];
  for (const [section, s] of Object.entries(root.properties ?? {})) {
    keys.push({ table: '', key: section, readAs: section });
    walk(s, section, keys);
  }
  const tablesOf = new Map<string, Set<string>>();
  for (const k of keys) tablesOf.set(k.key, (tablesOf.get(k.key) ?? new Set()).add(k.table));
  const files = [...sourceFiles('src'), ...sourceFiles('sim')].map((path) => readFileSync(path, 'utf8'));
  const unread = keys.filter(({ table, readAs }) => {
    const access = new RegExp(`(?:\\?\\.|\\.)${readAs}\\b|\\{[^}=]*\\b${readAs}\\b[^}=]*\\}\\s*=`);
    const isShared = (tablesOf.get(readAs)?.size ?? 0) > 1 && table !== '';
    // the table's name, singular or plural, in any case: `shadows` is read in shadow-mirror.ts
    const names = new RegExp(`\\b${table.replace(/s$/, '')}`, 'i');
    return !files.some((text) => access.test(text) && (!isShared || names.test(text)));
  });
  for (const alias of keys.filter((k) => k.readAs !== k.key)) {
    assert.ok(keys.some((k) => k.table === alias.table && k.key === alias.readAs), `${alias.table}.${alias.key} is an alias of ${alias.readAs}, which is no key of its table`);
  }
  assert.ok(keys.length > 150, `the walk found ${keys.length} keys: it must see the whole schema`);
  assert.deepEqual(
    unread.map((k) => (k.table === '' ? k.key : `${k.table}.${k.key}`)),
    [],
    'documented config keys that no source file reads: implement them or remove them',
  );
});
