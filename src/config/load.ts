// Loading: TOML text -> env overrides -> snake_case to camelCase -> schema -> a deeply frozen Config,
// or every problem at once.
import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { applyEnvOverrides, attributeToEnv, type Env } from './env.ts';
import { configErrorMessage, issuesToProblems, rejectedKeyProblem, type ConfigProblem } from './issues.ts';
import { keysToCamel } from './keys.ts';
import { configSchema, type Config } from './schema.ts';

export type { ConfigProblem } from './issues.ts';
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Validates an already parsed TOML document (snake_case keys) with the environment on top. */
export function validateDocument(document: Record<string, unknown>, env: Env): ConfigResult {
  const overridden = applyEnvOverrides(document, env);
  const converted = keysToCamel(overridden.document);
  const parsed = configSchema.safeParse(converted.value, { error: configErrorMessage });
  const problems = [
    ...overridden.problems,
    ...converted.rejected.map((key) => rejectedKeyProblem(key, configSchema)),
    ...(parsed.success ? [] : issuesToProblems(parsed.error.issues, configSchema)),
  ].map((p) => attributeToEnv(p, overridden.origins));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: deepFreeze(parsed.data) };
}

function syntaxProblem(error: TomlError): ConfigProblem {
  // smol-toml appends a code frame after a blank line; the first line is the message.
  const message = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  return { path: '', message: `invalid TOML: ${message}`, line: error.line, column: error.column };
}

/** `source` names the text (a file path, "stdin") for callers that format the problems with it. */
export function parseConfigText(text: string, _source: string, env: Env): ConfigResult {
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (error) {
    if (error instanceof TomlError) return { ok: false, problems: [syntaxProblem(error)] };
    throw error;
  }
  return validateDocument(document, env);
}

export async function loadConfigFile(path: string, env: Env): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [{ path: '', message: `cannot read the config file: ${reason}` }] };
  }
  return parseConfigText(text, path, env);
}

/** A config from the environment alone (no file): valid when SIBYL_BACKEND_ADDRESSES is set. */
export function loadConfigFromEnv(env: Env): ConfigResult {
  return validateDocument({}, env);
}

/** One line per problem: `<source>:<line>:<col>: <path>: <message>`, position and path when known. */
export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const position = p.line === undefined ? '' : `:${p.line}:${p.column ?? 1}`;
      const path = p.path === '' ? '' : ` ${p.path}:`;
      return `${source}${position}:${path} ${p.message}`;
    })
    .join('\n');
}
