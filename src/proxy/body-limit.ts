// A request body without Content-Length (chunked) is only known to be too large while streaming:
// this counts bytes on the way to the backend and fails the attempt past the limit.
import { Transform, type TransformCallback } from 'node:stream';

export class BodyTooLargeError extends Error {
  readonly code = 'SIBYL_BODY_TOO_LARGE';
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

export function createBodyLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) done(new BodyTooLargeError(maxBytes));
      else done(null, chunk);
    },
  });
}
