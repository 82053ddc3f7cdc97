// `sibyl validate --config FILE`: exit 0 when valid, 1 with every problem listed.
import { loadConfigOrExit } from './load-or-exit.ts';

export async function validateCommand(options: { config?: string }): Promise<void> {
  const config = await loadConfigOrExit(options.config, process.env);
  process.stdout.write(`${options.config ?? 'environment'}: valid (${config.discovery.kind === 'static' ? `${config.backends.length} backend(s)` : `backends from ${config.discovery.kind} discovery`}, strategy ${config.strategy.algorithm})\n`);
}
