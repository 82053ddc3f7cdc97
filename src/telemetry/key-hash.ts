// 64-bit pseudonymous keys from two independent 32-bit hashes. Not cryptographic: a salt
// ([telemetry] client_key_salt) keeps raw tokens out of telemetry; collisions are negligible below
// billions of live keys.
import { fnv1a32 } from '../core/hash.ts';

export function hash64Hex(text: string): string {
  const a = fnv1a32(text, 0x811c9dc5);
  const b = fnv1a32(text, 0x01000193 ^ 0x5bd1e995);
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
