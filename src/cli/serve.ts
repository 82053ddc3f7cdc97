// `sibyl serve --config FILE [--workers N]`: run until SIGTERM/SIGINT, then drain and exit 0. With
// more than one worker this process is the cluster's primary (cluster-primary.ts).
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ClusterPrimary } from './cluster-primary.ts';
import { handleFatalErrors } from './fatal-errors.ts';
import { healthProbeSharing, primaryProxyAddress, serveAsWorker, workerConfig, workersStore } from './cluster-worker.ts';
import type { Config } from '../config/schema.ts';
import { loadConfigOrExit } from './load-or-exit.ts';
import { startInstance, type Instance } from './start-instance.ts';

export interface ShutdownHooks {
  readonly beforeDrain?: () => Promise<void>;
  readonly afterDrain?: () => Promise<void>;
}

/** `hardLimitMs` is read when the shutdown starts, so that a reload of shutdown_timeout_millis applies. */
export function exitAfterShutdown(instance: Instance, hardLimitMs: () => number, hooks: ShutdownHooks = {}): void {
  let isStopping = false;
  const stop = (reason: string, exitCode: number): void => {
    if (isStopping) return;
    isStopping = true;
    // a hard upper bound on the whole shutdown (shutdown_timeout_millis)
    const limitMs = hardLimitMs();
    setTimeout(() => {
      instance.logger.error({ hardLimitMs: limitMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, limitMs).unref();
    void Promise.resolve(hooks.beforeDrain?.())
      .then(() => instance.shutdown(reason))
      .then(() => hooks.afterDrain?.())
      .then(
        () => exitCode,
        (err: unknown) => {
          instance.logger.error({ err }, 'shutdown failed');
          return 1;
        },
      )
      .then((code) => {
        // a log sink that went away (closed pipe) must not keep the process alive
        setTimeout(() => process.exit(code), 2000).unref();
        instance.logger.flush(() => process.exit(code));
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));
  // a bug no request-scoped boundary contained: drain, then exit non-zero (fatal-errors.ts)
  handleFatalErrors(process, instance.logger, (origin) => stop(origin, 1));
}

/**
 * The primary hands each accepted socket to a worker's HTTP/1.1 server; the TCP proxy and the
 * TLS/HTTP2 listeners have not been taught to adopt sockets yet, so those are refused up front.
 */
function workersUnsupportedBy(config: Config): string | undefined {
  if (config.proxy.kind === 'tcp') return '[proxy] kind = "tcp"';
  if (config.tls.enabled) return '[tls] enabled = true';
  if (config.http2.allowH2c) return '[http2] allow_h2c = true';
  return undefined;
}

/** `--workers`: a count, or `auto` for one per core. */
export function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return 1;
  if (text === 'auto') return availableParallelism();
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 256 ? n : undefined;
}

export async function serveCommand(options: { config?: string; validate?: boolean; workers?: string }): Promise<void> {
  const workers = parseWorkers(options.workers);
  if (workers === undefined) {
    process.stderr.write(`--workers: expected an integer from 1 to 256 or "auto", got ${JSON.stringify(options.workers)}\n`);
    process.exit(2);
  }
  const config = await loadConfigOrExit(options.config, process.env);
  if (options.validate === true) {
    process.stdout.write(`${options.config ?? 'environment'}: valid\n`);
    return;
  }
  const unsupported = workers > 1 ? workersUnsupportedBy(config) : undefined;
  if (unsupported !== undefined) {
    process.stderr.write(`--workers ${workers}: not supported with ${unsupported} yet; run one process (--workers 1) per instance\n`);
    process.exit(2);
  }
  if (workers > 1 && cluster.isPrimary) return new ClusterPrimary(config).start(workers);
  if (cluster.isWorker) {
    const instance = await startInstance(workerConfig(config), { configPath: options.config, env: process.env, isWorker: true, workersStore: workersStore(), primaryProxyAddress: primaryProxyAddress(), healthProbes: healthProbeSharing() });
    exitAfterShutdown(instance, () => instance.runtime.config.runtime.shutdownTimeoutMillis);
    return serveAsWorker(instance, instance.registry);
  }
  const instance = await startInstance(config, { configPath: options.config, env: process.env });
  exitAfterShutdown(instance, () => instance.runtime.config.runtime.shutdownTimeoutMillis);
}
