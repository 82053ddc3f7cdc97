// Wires one Sibyl instance: runtime, proxy listener, admin listener, config watching, shutdown.
// Used by `sibyl serve` and `sibyl demo`.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { systemClock } from '../core/clock.ts';
import { parseHostPort } from '../core/address.ts';
import { mathRng } from '../core/rng.ts';
import { createAdminServer } from '../admin/admin-server.ts';
import type { Config } from '../config/schema.ts';
import { createAccessLog } from '../log/access-log.ts';
import { createLogDestination, createLogger, type Logger } from '../log/logger.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { createFailureBoundary } from '../proxy/failure-boundary.ts';
import { createPipeline } from '../proxy/pipeline.ts';
import { ProtocolListener } from '../proxy/listener.ts';
import { ProxyServer } from '../proxy/server.ts';
import { TcpProxyServer } from '../proxy/tcp/tcp-proxy-server.ts';
import { createUpgradeHandler } from '../proxy/websocket.ts';
import { loadCandidateModel, loadInitialModel } from '../runtime/model-loader.ts';
import { ModelCandidate } from '../runtime/model-candidate.ts';
import { RetryIntelligence } from '../runtime/retry-intelligence.ts';
import { Runtime, type ReloadResult } from '../runtime/runtime.ts';
import { listenerOptionsFrom } from './protocols.ts';
import { ConfigReloader } from './config-reloader.ts';
import type { HealthProbeSharing } from '../runtime/deps.ts';
import { startSharedSync } from '../runtime/shared-sync.ts';
import type { SharedState } from '../shared/shared-state.ts';

export interface InstanceOptions {
  readonly configPath: string | undefined;
  readonly env: Record<string, string | undefined>;
  readonly logger?: Logger;
  /** A worker of `serve --workers N`: its admin listener is private to it (see cluster-worker.ts). */
  readonly isWorker?: boolean;
  /** A worker's link to the state its machine's workers share (rate limits, the retry model). */
  readonly workersStore?: SharedState;
  /** A worker does not listen: the primary accepts on this address and hands it connections (adopt). */
  readonly primaryProxyAddress?: { host: string; port: number };
  /** A worker: whether it runs the active health checks, and how it shares their results. */
  readonly healthProbes?: HealthProbeSharing;
}

export interface Instance {
  readonly runtime: Runtime;
  readonly proxyAddress: { host: string; port: number };
  readonly adminAddress: { host: string; port: number } | undefined;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Serves a connection accepted elsewhere (a worker's, from the primary). */
  adopt(socket: Socket): void;
  reload(): Promise<ReloadResult>;
  shutdown(reason: string): Promise<{ isClean: boolean }>;
}

function hostPort(text: string): { host: string; port: number } {
  // the schema validated it
  return parseHostPort(text) ?? { host: '127.0.0.1', port: 0 };
}

function listenAdmin(server: Server, address: string, isExclusive: boolean): Promise<{ host: string; port: number }> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // exclusive: a cluster worker's admin port is its own, not shared with the other workers
    server.listen({ host, port, exclusive: isExclusive }, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port });
    });
  });
}

export async function startInstance(config: Config, options: InstanceOptions): Promise<Instance> {
  const destination = createLogDestination();
  const logger = options.logger ?? createLogger(config.log.level, destination);
  const metrics = createMetrics();
  const accessLog = createAccessLog(destination, { maxBufferedLines: config.runtime.accessLogBuffer, onDrop: () => metrics.accessLogDropped.inc() });
  const deps = { clock: systemClock, rng: mathRng, metrics, logger, healthProbes: options.healthProbes };
  let retry: RetryIntelligence | undefined;
  if (config.telemetry.enabled) {
    const loaded = await loadInitialModel(config);
    logger.info({ source: loaded.source, path: loaded.path, version: loaded.model.version }, 'retry model loaded');
    let candidate = await loadCandidateModel(config);
    if (candidate !== undefined && loaded.promotedCandidate?.version === candidate.version) {
      // promoted before a restart: the live snapshot already is this candidate, learned further
      logger.info({ path: config.modelRollout.candidatePath, version: candidate.version }, 'candidate retry model was promoted earlier: it is the live model; not run again');
      candidate = undefined;
    } else if (candidate !== undefined) logger.info({ path: config.modelRollout.candidatePath, version: candidate.version, mode: config.modelRollout.mode }, 'candidate retry model loaded');
    const modelCandidate = candidate === undefined ? undefined : new ModelCandidate(candidate, config.modelRollout.candidatePath ?? '', config, deps);
    retry = new RetryIntelligence(config, loaded.model, deps, modelCandidate, loaded.promotedCandidate);
  }
  const runtime = new Runtime(config, deps, retry);
  const sharedSync = await startSharedSync(config, { rateLimits: runtime.rateLimits, retry }, deps, options.workersStore);
  const boundary = createFailureBoundary({ metrics, logger, requestIdHeader: () => runtime.current.settings.requestIdHeader });
  const pipeline = createPipeline({ runtime, metrics, logger, accessLog, rng: mathRng, now: () => performance.now(), isDraining: () => proxy.isDraining, boundary });
  const protocols = new ProtocolListener(listenerOptionsFrom(config), { metrics, logger, requestIdHeader: () => runtime.current.settings.requestIdHeader });
  if (config.proxy.kind === 'http') await protocols.prepare();
  const proxy =
    config.proxy.kind === 'tcp'
      ? new TcpProxyServer({ runtime, metrics, logger })
      : new ProxyServer({ runtime, metrics, boundary, handler: pipeline, upgrade: createUpgradeHandler({ runtime, metrics, now: () => performance.now() }), createServer: protocols.createServer });

  const applyConfig = (next: Config): ReloadResult => {
    const applied = runtime.apply(next);
    proxy.applySettings(runtime.current.settings);
    protocols.apply(listenerOptionsFrom(next));
    logger.level = next.log.level;
    accessLog.setMaxBufferedLines(next.runtime.accessLogBuffer);
    return applied;
  };
  const reloader =
    options.configPath === undefined
      ? undefined
      : new ConfigReloader(
          { path: options.configPath, env: options.env, pollIntervalMs: config.runtime.configWatchIntervalMillis },
          { clock: systemClock, logger, apply: applyConfig, reject: (problems) => runtime.rejectReload(problems), lastReload: () => runtime.lastReload },
        );
  const triggerReload = (): Promise<ReloadResult> => reloader?.reload('api') ?? Promise.resolve(runtime.lastReload);

  await runtime.refreshDiscovery();
  const listen = hostPort(config.proxy.listenAddress);
  const proxyAddress = options.primaryProxyAddress ?? (await proxy.listen(listen.host, listen.port));
  let admin: Server | undefined;
  let adminAddress: { host: string; port: number } | undefined;
  if (config.admin.enabled) {
    admin = createAdminServer(
      { token: config.admin.token, metricsPath: config.metrics.enabled ? config.metrics.path : undefined, listenHost: hostPort(config.admin.listenAddress).host, allowedHosts: () => runtime.config.admin.allowedHosts },
      { runtime, registry: metrics.registry, logger, listener: () => ({ openConnections: proxy.openConnections, isDraining: proxy.isDraining }), reload: triggerReload, internalErrors: metrics.internalErrors },
    );
    adminAddress = await listenAdmin(admin, config.admin.listenAddress, options.isWorker === true);
  }
  runtime.start();
  await reloader?.start({ isSignalHandled: true });
  logger.info({ proxy: proxyAddress, admin: adminAddress, generation: runtime.current.id, strategy: config.strategy.algorithm, kind: config.proxy.kind, tls: config.tls.enabled }, options.isWorker === true ? 'worker is serving' : 'sibyl is serving');

  let stopping: Promise<{ isClean: boolean }> | undefined;
  const shutdown = (reason: string): Promise<{ isClean: boolean }> => {
    stopping ??= (async () => {
      const cfg = runtime.config.runtime;
      logger.info({ reason, drainTimeoutMs: cfg.drainTimeoutMillis }, 'draining: not ready, no new connections, in-flight requests finish');
      reloader?.stop();
      protocols.stop();
      const drained = await proxy.drain(cfg.drainTimeoutMillis);
      const background = Promise.all([runtime.stop(), sharedSync?.stop(), new Promise<void>((r) => (admin === undefined ? r() : admin.close(() => r())))]);
      const isBackgroundDone = await Promise.race([background.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), cfg.backgroundTimeoutMillis).unref())]);
      admin?.closeAllConnections();
      accessLog.close();
      logger.info({ isClean: drained.isClean && isBackgroundDone }, 'stopped');
      return { isClean: drained.isClean && isBackgroundDone };
    })();
    return stopping;
  };
  return { runtime, proxyAddress, adminAddress, logger, registry: metrics.registry, adopt: (socket) => (proxy instanceof ProxyServer ? proxy.adopt(socket) : socket.destroy()), reload: triggerReload, shutdown };
}
