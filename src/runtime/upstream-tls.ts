// TLS towards the backends ([upstream_tls]), resolved once per generation: the CA file is read
// here (the config check proved it readable), so neither the pools nor the probes touch the disk.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';

export interface UpstreamTls {
  /** PEM CA certificates; undefined: the system store. */
  readonly ca: string | undefined;
  /** SNI and verified name; undefined: the backend's host. */
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** The [upstream_tls] settings, whether or not they are on for every backend (one may ask with `tls = true`). */
export function upstreamTlsFrom(config: Config): UpstreamTls {
  const u = config.upstreamTls;
  return Object.freeze({ ca: u.caFile === undefined ? undefined : readFileSync(u.caFile, 'utf8'), servername: u.serverName, rejectUnauthorized: u.verify });
}

/** A backend's own `tls` wins over [upstream_tls] enabled. */
export function isTlsBackend(config: Config, backend: { tls?: boolean | undefined }): boolean {
  return backend.tls ?? config.upstreamTls.enabled;
}

/** node:tls / undici connect options for one backend. */
export function tlsConnectOptions(tls: UpstreamTls, host: string) {
  const servername = tls.servername ?? (/^[\d.:]+$/.test(host) ? undefined : host);
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}
