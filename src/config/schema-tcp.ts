// Config section of the TCP (L4) mode ([proxy] kind = "tcp"): byte streams to the backends, picked
// per connection. Only strategies that need no request or response (latency) semantics are allowed.
import * as z from 'zod';
import { duration } from './fields.ts';

/** Strategies that work per connection: no response latency or request header to read. */
export const TcpAlgorithms = ['round_robin', 'weighted_round_robin', 'least_connections', 'random', 'power_of_two', 'ip_hash'] as const;

export const tcpSchema = z
  .strictObject({
    idleTimeout: duration().prefault('10m').describe('A proxied connection with no byte in either direction for this long is closed (both sides).'),
    connectAttempts: z.int().min(1).max(10).default(3).describe('Backends tried for one client connection: when a connect fails (refused, timed out) the next eligible backend not yet tried is used; the client sees only the last failure (its connection closed).'),
  })
  .describe('The TCP (L4) mode, used when [proxy] kind = "tcp": connection-level proxying with no request semantics (no retries, no retry prediction).');

interface TcpCheckInput {
  readonly proxy: { readonly kind: string };
  readonly strategy: { readonly algorithm: string; readonly hashKey: string };
  readonly tls: { readonly enabled: boolean };
  readonly http2: { readonly allowH2c: boolean };
}

/** In TCP mode the strategy must be connection-based and ip_hash can hash only the client IP. */
export function checkTcpMode(c: TcpCheckInput, ctx: z.core.$RefinementCtx): void {
  if (c.proxy.kind !== 'tcp') return;
  if (!(TcpAlgorithms as readonly string[]).includes(c.strategy.algorithm)) {
    ctx.addIssue({ code: 'custom', path: ['strategy', 'algorithm'], message: `"${c.strategy.algorithm}" needs HTTP responses; with proxy.kind = "tcp" use one of ${TcpAlgorithms.join(', ')}` });
  }
  if (c.strategy.hashKey !== 'client_ip') {
    ctx.addIssue({ code: 'custom', path: ['strategy', 'hashKey'], message: 'with proxy.kind = "tcp" there are no headers: use "client_ip"' });
  }
  // the L4 listener splices bytes: it neither terminates TLS nor speaks HTTP/2 (TLS passes through)
  if (c.tls.enabled) ctx.addIssue({ code: 'custom', path: ['tls', 'enabled'], message: 'with proxy.kind = "tcp" TLS is passed through to the backends, not terminated: turn [tls] off' });
  if (c.http2.allowH2c) ctx.addIssue({ code: 'custom', path: ['http2', 'allowH2c'], message: 'with proxy.kind = "tcp" there is no HTTP: turn allow_h2c off' });
}
