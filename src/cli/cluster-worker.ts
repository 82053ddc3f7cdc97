// A worker of `sibyl serve --workers N`: one ordinary instance (its proxy listener shared with the
// other workers through node:cluster, its admin listener private on loopback), plus the answers to
// what the primary asks over IPC.
import type { Config } from '../config/schema.ts';
import type { Instance } from './start-instance.ts';

/** Messages between the primary and its workers. */
export type ToWorker = { readonly type: 'metrics'; readonly id: number };
export type FromWorker =
  | { readonly type: 'ready'; readonly proxy: { host: string; port: number }; readonly adminPort: number | undefined }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: unknown[] };

/** The worker's own admin listener: loopback, any free port, reached only through the primary. */
export function workerConfig(config: Config): Config {
  return { ...config, admin: { ...config.admin, listenAddress: '127.0.0.1:0' } };
}

export function serveAsWorker(instance: Instance, registry: { getMetricsAsJSON(): Promise<unknown[]> }): void {
  const send = (message: FromWorker): void => void process.send?.(message);
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'metrics') return;
    instance.runtime.publishGauges();
    void registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics', id: message.id, metrics }));
  });
  send({ type: 'ready', proxy: instance.proxyAddress, adminPort: instance.adminAddress?.port });
}
