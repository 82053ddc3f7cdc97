// `sibyl serve --config FILE`: run until SIGTERM/SIGINT, then drain and exit 0.
import { loadConfigOrExit } from './load-or-exit.ts';
import { startInstance, type Instance } from './start-instance.ts';

export interface ShutdownHooks {
  readonly beforeDrain?: () => Promise<void>;
  readonly afterDrain?: () => Promise<void>;
}

export function exitAfterShutdown(instance: Instance, hardLimitMs: number, hooks: ShutdownHooks = {}): void {
  let isStopping = false;
  const stop = (signal: string): void => {
    if (isStopping) return;
    isStopping = true;
    // a hard upper bound on the whole shutdown (accept_timeout_millis)
    setTimeout(() => {
      instance.logger.error({ hardLimitMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, hardLimitMs).unref();
    void Promise.resolve(hooks.beforeDrain?.())
      .then(() => instance.shutdown(signal))
      .then(() => hooks.afterDrain?.())
      .then(() => {
        // a log sink that went away (closed pipe) must not keep the process alive
        setTimeout(() => process.exit(0), 2000).unref();
        instance.logger.flush(() => process.exit(0));
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

export async function serveCommand(options: { config?: string; validate?: boolean }): Promise<void> {
  const config = await loadConfigOrExit(options.config, process.env);
  if (options.validate === true) {
    process.stdout.write(`${options.config ?? 'environment'}: valid\n`);
    return;
  }
  const instance = await startInstance(config, { configPath: options.config, env: process.env });
  exitAfterShutdown(instance, config.runtime.acceptTimeoutMillis);
}
