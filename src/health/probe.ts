// The active health check seam: how one backend is asked whether it is alive.
import type { ConnectionOptions } from 'node:tls';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** TLS options for a backend reached over TLS; undefined: cleartext. */
  readonly tls?: ConnectionOptions | undefined;
}

export interface HealthProbe {
  /** Resolves true when the target is healthy; resolves false on any failure or abort, never rejects. */
  check(target: ProbeTarget, signal: AbortSignal): Promise<boolean>;
}
