// Environment overrides, applied to the TOML document before validation, so they are validated like
// the file. An empty value counts as unset.
import { isPlainObject } from './keys.ts';
import type { ConfigProblem } from './issues.ts';

export type Env = Record<string, string | undefined>;

export interface EnvVar {
  readonly name: string;
  /** The key it sets, in TOML spelling. */
  readonly key: string;
  readonly description: string;
}

interface EnvOverride extends EnvVar {
  readonly section: string;
  /** Undefined for a whole-section replacement (backends). */
  readonly field?: string;
  readonly parse: (text: string) => unknown;
}

const asString = (text: string): unknown => text;

/** Integers stay numbers so the schema checks their range; anything else is reported by the caller. */
const asInteger = (text: string): unknown => (/^[+-]?\d+$/.test(text) ? Number(text) : undefined);

const asBackends = (text: string): unknown => {
  const addresses = text.split(',').map((a) => a.trim()).filter((a) => a !== '');
  return addresses.map((address) => ({ address, weight: 1 }));
};

const OVERRIDES: readonly EnvOverride[] = [
  { name: 'SIBYL_LISTEN_ADDRESS', key: 'proxy.listen_address', section: 'proxy', field: 'listen_address', parse: asString, description: 'Proxy listen address, "host:port".' },
  { name: 'SIBYL_STRATEGY', key: 'strategy.algorithm', section: 'strategy', field: 'algorithm', parse: asString, description: 'Load-balancing algorithm.' },
  {
    name: 'SIBYL_BACKEND_ADDRESSES',
    key: 'backends',
    section: 'backends',
    parse: asBackends,
    description: 'Comma-separated "host:port" list; replaces every `[[backends]]` table with one backend of weight 1 per address, named after it.',
  },
  { name: 'SIBYL_MAX_CONNECTIONS', key: 'proxy.max_connections', section: 'proxy', field: 'max_connections', parse: asInteger, description: 'Maximum concurrent client connections (an integer).' },
  { name: 'SIBYL_LOG_LEVEL', key: 'log.level', section: 'log', field: 'level', parse: asString, description: 'Log level.' },
  { name: 'SIBYL_ADMIN_LISTEN_ADDRESS', key: 'admin.listen_address', section: 'admin', field: 'listen_address', parse: asString, description: 'Admin listen address, "host:port".' },
  { name: 'SIBYL_ADMIN_TOKEN', key: 'admin.token', section: 'admin', field: 'token', parse: asString, description: 'Bearer token for the admin API; keeps the secret out of the file.' },
  { name: 'SIBYL_REDIS_URL', key: 'shared.redis_url', section: 'shared', field: 'redis_url', parse: asString, description: 'Redis for state shared across instances, "redis://[user:password@]host:port[/db]"; keeps its password out of the file.' },
];

/** Every supported environment variable, for the docs and `--help`. */
export const envVars: readonly EnvVar[] = OVERRIDES.map(({ name, key, description }) => ({ name, key, description }));

export interface EnvResult {
  /** A shallow copy of the document with the overrides in place (snake_case keys). */
  readonly document: Record<string, unknown>;
  readonly problems: ConfigProblem[];
  /** Key path (TOML spelling) -> the variable that set it, to say where a bad value came from. */
  readonly origins: ReadonlyMap<string, string>;
}

export function applyEnvOverrides(document: Record<string, unknown>, env: Env): EnvResult {
  const out: Record<string, unknown> = { ...document };
  const problems: ConfigProblem[] = [];
  const origins = new Map<string, string>();
  for (const override of OVERRIDES) {
    const text = env[override.name]?.trim();
    if (text === undefined || text === '') continue;
    const value = override.parse(text);
    if (value === undefined) {
      problems.push({ path: `env.${override.name}`, message: `expected an integer, got ${JSON.stringify(text)}` });
      continue;
    }
    if (override.field === undefined) {
      out[override.section] = value;
    } else {
      const section = out[override.section] ?? {};
      // A section that is not a table is the file's error; leave it for the schema to report.
      if (!isPlainObject(section)) continue;
      out[override.section] = { ...section, [override.field]: value };
    }
    origins.set(override.key, override.name);
  }
  return { document: out, problems, origins };
}

/** Says which variable set the value a problem is about, when one did. */
export function attributeToEnv(problem: ConfigProblem, origins: ReadonlyMap<string, string>): ConfigProblem {
  for (const [key, name] of origins) {
    if (problem.path === key || problem.path.startsWith(`${key}.`) || problem.path.startsWith(`${key}[`)) {
      return { ...problem, message: `${problem.message} (from ${name})` };
    }
  }
  return problem;
}
