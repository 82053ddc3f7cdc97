// A worker of `sibyl serve --workers N`: one ordinary instance that serves the connections the
// primary hands it (it does not listen itself) and has its admin listener private on loopback,
// plus the answers to what the primary asks over IPC.
import { Socket } from 'node:net';
import type { Config } from '../config/schema.ts';
import type { HealthProbeSharing } from '../runtime/deps.ts';
import { createIpcSharedState, type SharedRequest } from '../shared/ipc-shared-state.ts';
import type { SharedState } from '../shared/shared-state.ts';
import type { Instance } from './start-instance.ts';

/** A worker's calls to the primary's store wait at most this long (the primary is on this machine). */
const IPC_TIMEOUT_MS = 2000;

/** Messages between the primary and its workers. */
/** One active health check's result, from the probing worker to the others through the primary. */
export type ProbeResult = { readonly type: 'probe'; readonly backendKey: string; readonly isSuccess: boolean };
export type ToWorker = { readonly type: 'metrics'; readonly id: number } | { readonly type: 'connection' } | ProbeResult;
// shared-state requests and replies travel on the same channel (ipc-shared-state.ts)
export type FromWorker =
  | { readonly type: 'ready'; readonly proxy: { host: string; port: number }; readonly adminPort: number | undefined }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: unknown[] }
  | ProbeResult;

/** The state this machine's workers share, through the primary. */
export function workersStore(): SharedState {
  return createIpcSharedState(
    {
      send: (message: SharedRequest) => void process.send?.(message),
      onMessage: (fn) => void process.on('message', fn),
    },
    IPC_TIMEOUT_MS,
  );
}

/**
 * Active health checks run in worker 0 only (one probe per interval per backend, as with one
 * process); the other workers apply its results, so that all agree on who is healthy.
 */
export function healthProbeSharing(): HealthProbeSharing {
  return {
    isProbing: process.env.SIBYL_WORKER_INDEX === '0',
    publish: (backendKey, isSuccess) => void process.send?.({ type: 'probe', backendKey, isSuccess } satisfies FromWorker),
  };
}

/** Where the primary accepts the proxy's connections (it hands them to the workers). */
export function primaryProxyAddress(): { host: string; port: number } | undefined {
  const text = process.env.SIBYL_PRIMARY_PROXY;
  return text === undefined ? undefined : (JSON.parse(text) as { host: string; port: number });
}

/**
 * The worker's own admin listener: loopback, any free port, reached only through the primary. Its
 * own telemetry file (`events.ndjson` -> `events.worker-2.ndjson`): each worker labels the
 * requests it served, writes and rotates its file without racing the others, and flushes its
 * unlabelled attempts (retried: null) when it stops; `sibyl train --data` takes them all.
 */
export function workerConfig(config: Config, index = process.env.SIBYL_WORKER_INDEX ?? '0'): Config {
  const path = config.telemetry.path;
  const telemetryPath = path === undefined ? undefined : path.replace(/(\.[^./]*)?$/, (ext) => `.worker-${index}${ext}`);
  return { ...config, admin: { ...config.admin, listenAddress: '127.0.0.1:0' }, telemetry: { ...config.telemetry, path: telemetryPath } };
}

export function serveAsWorker(instance: Instance, registry: { getMetricsAsJSON(): Promise<unknown[]> }): void {
  const send = (message: FromWorker): void => void process.send?.(message);
  process.on('message', (message: ToWorker, handle: unknown) => {
    if (message.type === 'connection') return void (handle instanceof Socket ? instance.adopt(handle) : undefined);
    if (message.type === 'probe') return instance.runtime.applyHealthProbe(message.backendKey, message.isSuccess);
    if (message.type !== 'metrics') return;
    instance.runtime.publishGauges();
    void registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics', id: message.id, metrics }));
  });
  send({ type: 'ready', proxy: instance.proxyAddress, adminPort: instance.adminAddress?.port });
}
