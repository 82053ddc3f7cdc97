// TCP health check: healthy when a connection can be opened (HAProxy's default check).
import { connect } from 'node:net';
import type { HealthProbe, ProbeTarget } from './probe.ts';

export function createTcpProbe(): HealthProbe {
  return {
    check(target: ProbeTarget, signal: AbortSignal): Promise<boolean> {
      if (signal.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const socket = connect({ host: target.host, port: target.port });
        const settle = (healthy: boolean): void => {
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(healthy);
        };
        const onAbort = (): void => settle(false);
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => settle(true));
        socket.on('error', () => settle(false));
      });
    },
  };
}
