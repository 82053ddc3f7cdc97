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
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function tomlLiteral(value: unknown): string {
  if (Array.isArray(value) && value.length === 0) return '[]';
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
  if (s.default !== undefined) return `\`${tomlLiteral(s.default)}\``;
  return isRequired ? 'required' : 'unset';
}

function table(object: JsonSchema): string[] {
  const rows = ['| Key | Type | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const [key, s] of Object.entries(object.properties ?? {})) {
    const isRequired = object.required?.includes(key) ?? false;
    rows.push(`| \`${camelToSnake(key)}\` | ${cell(typeOf(s))} | ${cell(defaultOf(s, isRequired))} | ${cell(s.description ?? '')} |`);
  }
  return rows;
}

function section(key: string, s: JsonSchema): string[] {
  const isArray = s.type === 'array' && s.items !== undefined;
  const object = isArray && s.items !== undefined ? s.items : s;
  const heading = isArray ? `[[${camelToSnake(key)}]]` : `[${camelToSnake(key)}]`;
  return [`## \`${heading}\``, '', object.description ?? s.description ?? '', '', ...table(object), ''];
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
  '- Every section is optional and every key has a default, except that at least one backend is needed (from `[[backends]]` or `SIBYL_BACKEND_ADDRESSES`).',
  '- Unknown keys are errors, with a "did you mean" suggestion. Keys are snake_case; in the TypeScript `Config` they are camelCase (`listen_address` -> `listenAddress`, `consecutive_5xx` -> `consecutive5xx`).',
  '- Durations are strings: `"500ms"`, `"10s"`, `"2m"`, `"1h"`; after loading they are numbers of milliseconds. The `*_millis` keys are integers of milliseconds. No duration may exceed 2147483647 ms (the Node timer limit).',
  '- Addresses are `"host:port"` or `"[ipv6]:port"`. Listen addresses may use port 0 (any free port).',
  '',
  'Examples: `examples/minimal.toml`, `examples/production.toml`, `examples/ip-hash.toml`, `examples/adaptive.toml`.',
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
