// HTTP health check: a GET whose status must fall in a range (Envoy expected_statuses,
// HAProxy http-check expect status). A fresh connection each time (agent: false) so the probe
// sees what a new client would, not a pooled socket that happens to still be open.
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { HealthProbe, ProbeTarget } from './probe.ts';

export interface HttpProbeOptions {
  readonly path: string;
  /** Inclusive bounds of the statuses that count as healthy. */
  readonly expectedStatusMin: number;
  readonly expectedStatusMax: number;
  /** Host header to send; defaults to the target's host:port. */
  readonly hostHeader?: string;
}

export function createHttpProbe(options: HttpProbeOptions): HealthProbe {
  const { path, expectedStatusMin, expectedStatusMax, hostHeader } = options;
  const headers: Record<string, string> = { 'user-agent': 'sibyl-health-check' };
  if (hostHeader !== undefined) headers.host = hostHeader;

  return {
    check(target: ProbeTarget, signal: AbortSignal): Promise<boolean> {
      if (signal.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        let isSettled = false;
        const settle = (healthy: boolean): void => {
          if (isSettled) return;
          isSettled = true;
          signal.removeEventListener('abort', onAbort);
          resolve(healthy);
        };
        const requestOptions = { host: target.host, port: target.port, path, method: 'GET', agent: false, headers } as const;
        // a backend reached over TLS ([upstream_tls] or its own `tls`) is checked over TLS too
        const req = target.tls === undefined ? request(requestOptions) : httpsRequest({ ...requestOptions, ...target.tls });
        const onAbort = (): void => {
          req.destroy();
          settle(false);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        req.on('error', () => settle(false));
        req.on('response', (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const healthy = status >= expectedStatusMin && status <= expectedStatusMax;
          // The answer counts only once the whole response arrived: a backend that sends
          // headers then stalls is not healthy.
          res.on('end', () => settle(healthy));
          res.on('error', () => settle(false));
          res.on('close', () => settle(false));
          res.resume();
        });
        req.end();
      });
    },
  };
}
