import { formatProblems, loadConfigFile, loadConfigFromEnv } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

/** Loads the config from a file (or from the environment alone); prints every problem and exits 1 when invalid. */
export async function loadConfigOrExit(configPath: string | undefined, env: Record<string, string | undefined>): Promise<Config> {
  const result = configPath !== undefined ? await loadConfigFile(configPath, env) : loadConfigFromEnv(env);
  if (!result.ok) {
    process.stderr.write(`${formatProblems(configPath ?? 'environment', result.problems)}\n`);
    process.stderr.write(`${result.problems.length} problem(s); nothing was started.\n`);
    process.exit(1);
  }
  return result.config;
}
