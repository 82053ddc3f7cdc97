// Turns zod issues into config problems: snake_case key paths, operator-worded messages, and a
// "did you mean" for unknown keys and enum values.
import type * as z from 'zod';
import { camelToSnake, formatPath, toSnakeSpelling, type RejectedKey } from './keys.ts';
import { suggest } from './suggest.ts';

export interface ConfigProblem {
  /** Key path in TOML spelling, e.g. `backends[1].address`; empty for file-level problems. */
  path: string;
  message: string;
  /** 1-based, when known (TOML syntax errors). */
  line?: number;
  column?: number;
}

type Issue = z.core.$ZodRawIssue;

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object' && value !== null) return 'a table';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a table',
  array: 'an array of tables',
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

/** z.int() reports a non-number as "expected number"; operators should read "integer". */
function isIntegerSchema(inst: unknown): boolean {
  const def = (inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def;
  return def?.format === 'safeint';
}

/** The zod error map used when parsing config: short messages an operator can act on. */
export function configErrorMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      const expected = isIntegerSchema(issue.inst) ? 'int' : issue.expected;
      return `expected ${EXPECTED[expected] ?? expected}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} item(s)`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`;
    case 'invalid_value': {
      const choices = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const near = typeof issue.input === 'string' ? suggest(issue.input, issue.values.map(String)) : undefined;
      return `must be one of ${choices}` + (near === undefined ? '' : `; did you mean "${near}"?`);
    }
    default:
      return undefined;
  }
}

/** Unwraps defaults, optionals and pipes down to the schema that holds the value's shape. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = schema._zod.def as z.core.$ZodTypeDef & { innerType?: z.core.$ZodType; in?: z.core.$ZodType };
  if (def.innerType !== undefined) return unwrap(def.innerType);
  if (def.type === 'pipe' && def.in !== undefined) return unwrap(def.in);
  return schema;
}

/** The keys (snake_case) of the table found at `path` in `schema`, or [] when there is none. */
export function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node = unwrap(schema);
  for (const segment of path) {
    const def = node._zod.def as z.core.$ZodTypeDef & { shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    const next = typeof segment === 'number' ? def.element : def.shape?.[String(segment)];
    if (next === undefined) return [];
    node = unwrap(next);
  }
  const shape = (node._zod.def as { shape?: Record<string, unknown> }).shape;
  return shape === undefined ? [] : Object.keys(shape).map(camelToSnake);
}

function unknownKey(parent: readonly PropertyKey[], key: string, schema: z.core.$ZodType, note = ''): ConfigProblem {
  const known = knownKeysAt(schema, parent);
  const near = known.includes(key) ? key : suggest(key, known);
  const hint = near === undefined ? `known keys: ${known.join(', ')}` : `did you mean \`${near}\`?`;
  const where = formatPath(parent);
  return { path: where === '' ? key : `${where}.${key}`, message: `unknown key${note}; ${hint}` };
}

function unknownKeyProblems(issue: z.core.$ZodIssueUnrecognizedKeys, schema: z.core.$ZodType): ConfigProblem[] {
  return issue.keys.map((camelKey) => unknownKey(issue.path, camelToSnake(camelKey), schema));
}

/** A key that is not snake_case, named as written, with the known key it most likely means. */
export function rejectedKeyProblem(rejected: RejectedKey, schema: z.core.$ZodType): ConfigProblem {
  const problem = unknownKey(rejected.parent, toSnakeSpelling(rejected.key), schema, ' (keys are snake_case)');
  const where = formatPath(rejected.parent);
  return { ...problem, path: where === '' ? rejected.key : `${where}.${rejected.key}` };
}

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.core.$ZodType): ConfigProblem[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? unknownKeyProblems(issue, schema) : [{ path: formatPath(issue.path), message: issue.message }],
  );
}
