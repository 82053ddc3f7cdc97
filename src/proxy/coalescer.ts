// Coalescing: a request identical to one still in flight (same client key and fingerprint, so the
// same client asking the same thing again: a client retry racing its own first attempt) waits for
// the original's response instead of being sent to a backend again. The original's response is
// copied as it streams to its own client, up to a byte cap; when it has finished, every waiter
// gets the same status, headers and body (an error answer included: it is the original's answer).
// If the original's response never finishes (its client left, the connection broke) or its body is
// larger than the cap, the waiters go on as ordinary requests. Bounded: waiters per original.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface CopiedResponse {
  readonly statusCode: number;
  /** Header names in lower case, as the original sent them (its request id included). */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** undefined: no copy; the waiter proceeds as an ordinary request. */
export type Waiter = (copy: CopiedResponse | undefined) => void;

interface Original {
  readonly waiters: Waiter[];
}

export class Coalescer {
  readonly #originals = new Map<string, Original>();

  get inFlight(): number {
    return this.#originals.size;
  }

  /** Attaches to an original in flight under `key`; false when there is none or it has maxWaiters. */
  join(key: string, waiter: Waiter, maxWaiters: number): boolean {
    const original = this.#originals.get(key);
    if (original === undefined || original.waiters.length >= maxWaiters) return false;
    original.waiters.push(waiter);
    return true;
  }

  /** This request becomes the original for `key`: its response is copied for later identical ones. */
  lead(key: string, res: ServerResponse, maxBodyBytes: number): void {
    if (this.#originals.has(key)) return;
    const original: Original = { waiters: [] };
    this.#originals.set(key, original);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let isOverCap = false;
    const copy = (chunk: unknown, encoding: unknown): void => {
      if (isOverCap || chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      bytes += buf.length;
      if (bytes > maxBodyBytes) {
        isOverCap = true;
        chunks.length = 0;
        return;
      }
      chunks.push(Buffer.from(buf));
    };
    // the copy is taken where the response leaves, whatever path wrote it (stream or error page)
    let sentHeaders: OutgoingHttpHeaders = {};
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      // writeHead(status, [statusText], headers): headers as an object or a flat [name, value, ...] list
      const given = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null);
      sentHeaders = headersOf(given);
      return writeHead(...args);
    }) as ServerResponse['writeHead'];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      copy(args[0], args[1]);
      return write(...args);
    }) as ServerResponse['write'];
    res.end = ((...args: unknown[]) => {
      copy(args[0], args[1]);
      return end(...args);
    }) as ServerResponse['end'];
    const settle = (isFinished: boolean): void => {
      if (this.#originals.get(key) !== original) return;
      this.#originals.delete(key);
      const result = isFinished && !isOverCap ? { statusCode: res.statusCode, headers: { ...res.getHeaders(), ...sentHeaders }, body: Buffer.concat(chunks) } : undefined;
      for (const waiter of original.waiters) waiter(result);
    };
    res.once('finish', () => settle(true));
    res.once('close', () => settle(res.writableFinished));
  }
}

function headersOf(given: unknown): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (Array.isArray(given)) {
    for (let i = 0; i + 1 < given.length; i += 2) {
      const name = String(given[i]).toLowerCase();
      const value = String(given[i + 1]);
      const prior = headers[name];
      headers[name] = prior === undefined ? value : ([] as string[]).concat(prior as string | string[], value);
    }
  } else if (given !== undefined) {
    for (const [name, value] of Object.entries(given as OutgoingHttpHeaders)) headers[name.toLowerCase()] = value;
  }
  return headers;
}
