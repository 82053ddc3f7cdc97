// `sibyl validate --config FILE`: exit 0 when valid, 1 with every problem listed.
import { loadConfigOrExit } from './load-or-exit.ts';

export async function validateCommand(options: { config?: string }): Promise<void> {
  const config = await loadConfigOrExit(options.config, process.env);
  const pools = config.pools.length === 0 ? '' : `, ${config.pools.length} pool(s) with ${config.pools.reduce((n, p) => n + p.backends.length, 0)} more`;
  const source = config.discovery.kind === 'static' ? `${config.backends.length} backend(s)` : `backends from ${config.discovery.kind} discovery`;
  process.stdout.write(`${options.config ?? 'environment'}: valid (${source}${pools}, strategy ${config.strategy.algorithm})
`);
}
