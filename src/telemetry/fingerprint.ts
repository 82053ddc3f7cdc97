// fingerprint: what was asked — method, host, path and query, the Idempotency-Key header if any,
// and optionally a hash of a small body (computed elsewhere, passed in).
import { hash64Hex } from './key-hash.ts';

export function fingerprintOf(method: string, host: string, url: string, idempotencyKey: string | undefined, bodyHash = ''): string {
  return hash64Hex(`${method}\u0000${host}\u0000${url}\u0000${idempotencyKey ?? ''}\u0000${bodyHash}`);
}
