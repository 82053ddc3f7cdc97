// fingerprint: what was asked: method, host, path and query, the idempotency key header's value
// (the header `[retry] idempotency_key_header` names), and what the body holds: a hash of a body up
// to `[telemetry] max_body_hash_bytes`, or the length of a larger one. Two POSTs of different
// orders to one collection URL are different requests.
import { hash64Hex } from './key-hash.ts';

/** The body's part of a fingerprint: '' without a body, else a hash or, for a large body, its length. */
export type BodyIdentity = string;

export const NO_BODY: BodyIdentity = '';

export function bodyIdentityOf(body: Buffer): BodyIdentity {
  return `h:${hash64Hex(body.toString('latin1'))}`;
}

/**
 * A body not hashed (too large, chunked, or hashing off): what is known of it without reading it.
 * A body without a length (chunked, every gRPC call) says nothing of what it holds: it is taken as
 * its own (`unique`, e.g. the request id), so that two such requests never pass for the same one
 * and only a retry marker or an idempotency key can make one a retry. As one 'stream' identity,
 * every gRPC call of a method after a failed one counted as its retry.
 */
export function unhashedBodyIdentity(contentLength: string | undefined, unique: string): BodyIdentity {
  return contentLength === undefined ? `stream:${unique}` : `len:${contentLength}`;
}

export function fingerprintOf(method: string, host: string, url: string, idempotencyKey: string | undefined, body: BodyIdentity = NO_BODY): string {
  return hash64Hex(`${method}\u0000${host}\u0000${url}\u0000${idempotencyKey ?? ''}\u0000${body}`);
}
