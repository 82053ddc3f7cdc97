// Renders docs/configuration.md from the schema (descriptions, types, defaults) and the env table.
import * as z from 'zod';
import { envVars } from './env.ts';
import { camelToSnake } from './keys.ts';
import { configSchema } from './schema.ts';

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  docType?: string;
  /** The default of a key with an alias (filled in after both spellings are read). */
  docDefault?: unknown;
  reload?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function tomlLiteral(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlLiteral).join(', ')}]`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function range(s: JsonSchema): string {
  const min = s.minimum;
  const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  if (min !== undefined && max !== undefined) return `, ${min}..${max}`;
  if (min !== undefined && min > Number.MIN_SAFE_INTEGER) return `, >= ${min}`;
  if (max !== undefined) return `, <= ${max}`;
  return '';
}

function typeOf(s: JsonSchema): string {
  if (s.enum !== undefined) return s.enum.map((v) => `\`${tomlLiteral(v)}\``).join(' | ');
  const base = s.docType ?? s.type ?? 'any';
  return s.type === 'integer' || s.type === 'number' ? base + range(s) : base;
}

function defaultOf(s: JsonSchema, isRequired: boolean): string {
  const value = s.default ?? s.docDefault;
  if (value !== undefined) return `\`${tomlLiteral(value)}\``;
  return isRequired ? 'required' : 'unset';
}

function onReload(s: JsonSchema, isTableRestartOnly: boolean): string {
  return isTableRestartOnly || s.reload === 'restart' ? 'needs restart' : 'applies';
}

function table(object: JsonSchema, isTableRestartOnly: boolean): string[] {
  const rows = ['| Key | Type | Default | On reload | Meaning |', '| --- | --- | --- | --- | --- |'];
  for (const [key, s] of Object.entries(object.properties ?? {})) {
    const isRequired = object.required?.includes(key) ?? false;
    rows.push(`| \`${camelToSnake(key)}\` | ${cell(typeOf(s))} | ${cell(defaultOf(s, isRequired))} | ${onReload(s, isTableRestartOnly)} | ${cell(s.description ?? '')} |`);
  }
  return rows;
}

function section(key: string, s: JsonSchema): string[] {
  const isArray = s.type === 'array' && s.items !== undefined;
  const object = isArray && s.items !== undefined ? s.items : s;
  const heading = isArray ? `[[${camelToSnake(key)}]]` : `[${camelToSnake(key)}]`;
  const isRestartOnly = s.reload === 'restart' || object.reload === 'restart';
  return [`## \`${heading}\``, '', object.description ?? s.description ?? '', '', ...table(object, isRestartOnly), ''];
}

function envTable(): string[] {
  const rows = ['| Variable | Sets | Meaning |', '| --- | --- | --- |'];
  for (const v of envVars) rows.push(`| \`${v.name}\` | \`${v.key}\` | ${cell(v.description)} |`);
  return rows;
}

const PREAMBLE = [
  '# Configuration',
  '',
  '<!-- Generated from src/config/schema.ts by `npm run docs` (scripts/gen-docs.ts). Do not edit: change the schema and rerun. -->',
  '',
  'Sibyl reads one TOML file (`sibyl serve --config FILE`); `sibyl validate --config FILE` prints every problem at once, each with its key path.',
  '',
  '- Every section is optional and every key has a default, except that at least one backend is needed (from `[[backends]]`, `SIBYL_BACKEND_ADDRESSES` or `[discovery]`, or a `[[pools]]` pool named `default`).',
  '- Unknown keys are errors, with a "did you mean" suggestion. Keys are snake_case; in the TypeScript `Config` they are camelCase (`listen_address` -> `listenAddress`, `consecutive_5xx` -> `consecutive5xx`).',
  '- Durations are strings: `"500ms"`, `"10s"`, `"2m"`, `"1h"`; after loading they are numbers of milliseconds. The `*_millis` keys are integers of milliseconds. No duration may exceed 2147483647 ms (the Node timer limit).',
  '- Addresses are `"host:port"` or `"[ipv6]:port"`. Listen addresses may use port 0 (any free port).',
  '- Reload (a changed file, SIGHUP or `POST /api/reload`): a key marked "applies" in the column "On reload" takes effect in the new generation; one marked "needs restart" keeps its old value until the process restarts, and a reload that changes it names it in its answer (`needsRestart`) and in a warning log line. A file identical to the one in service (same SHA-256) is not applied again.',
  '',
  'Examples: `examples/minimal.toml`, `examples/production.toml`, `examples/ip-hash.toml`, `examples/adaptive.toml`, `examples/dns-discovery.toml`, `examples/file-discovery.toml`, `examples/tcp.toml`; progressive delivery (pools, routes, rollouts, blue-green, shadows, experiments, flags): `examples/canary.toml`, `examples/blue-green.toml`, `examples/shadow.toml`, `examples/experiment.toml` and [progressive-delivery.md](progressive-delivery.md).',
  '',
];

export function renderConfigDocs(): string {
  const root = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema;
  const sections = Object.entries(root.properties ?? {}).flatMap(([key, s]) => section(key, s));
  const env = [
    '## Environment variables',
    '',
    'Applied on top of the file before validation, so their values are checked like the file\'s. An empty value counts as unset.',
    '',
    ...envTable(),
    '',
  ];
  return [...PREAMBLE, ...sections, ...env].join('\n');
}
