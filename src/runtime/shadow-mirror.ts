// Shadow traffic: a share of a pool's requests is copied to a shadow pool, fire-and-forget. The
// copy never delays or fails the primary: it is sent beside it, its answer is read into a capped
// buffer and dropped after the comparison, and at most max_concurrency copies are in flight (the
// rest are dropped and counted). Memory is bounded by max_concurrency x (max_body_bytes + 2 x
// max_response_bytes).
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ShadowConfig } from '../config/schema.ts';
import type { Rng } from '../core/rng.ts';
import { compareResponses, normaliseBody, type DiffKind, type ResponseDigest } from '../traffic/shadow-diff.ts';
import type { RuntimeDeps } from './deps.ts';
import { EventRing } from './event-ring.ts';
import type { Generation } from './generation.ts';

export interface DiffSample {
  readonly atIso: string;
  readonly method: string;
  readonly url: string;
  readonly kinds: readonly DiffKind[];
  readonly primary: { readonly status: number; readonly bodyHash: string | undefined };
  readonly shadow: { readonly status: number; readonly bodyHash: string | undefined };
  readonly headers: readonly { readonly name: string; readonly primary: string | undefined; readonly shadow: string | undefined }[];
}

/** Collects a response up to a cap: status, headers, and the first bytes of the body. */
class Capture {
  status = 0;
  headers: Record<string, string> = {};
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #isTruncated = false;
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  setHeaders(flat: readonly (string | string[] | number | undefined)[] | Record<string, unknown>): void {
    const out: Record<string, string> = {};
    const add = (name: string, value: unknown): void => {
      const key = name.toLowerCase();
      const text = Array.isArray(value) ? value.join(', ') : String(value);
      out[key] = out[key] === undefined ? text : `${out[key]}, ${text}`;
    };
    if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) add(String(flat[i]), flat[i + 1]);
    else for (const [k, v] of Object.entries(flat)) if (v !== undefined) add(k, v);
    this.headers = out;
  }

  add(chunk: Buffer): void {
    if (this.#isTruncated) return;
    if (this.#size + chunk.length > this.#cap) {
      this.#isTruncated = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  digest(ignoreFields: readonly string[]): ResponseDigest {
    let bodyHash: string | undefined;
    if (!this.#isTruncated) {
      const text = normaliseBody(Buffer.concat(this.#chunks).toString('utf8'), this.headers['content-type'], ignoreFields);
      bodyHash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    }
    return { status: this.status, headers: this.headers, bodyHash };
  }
}

type Chunk = string | Uint8Array;
const toBuffer = (chunk: Chunk, encoding: unknown): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk));

/** Taps the primary response as it is written (only for copied requests): resolves at its end. */
function tapPrimary(res: ServerResponse, cap: number): Promise<Capture | undefined> {
  const capture = new Capture(cap);
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    capture.status = Number(args[0]);
    const headers = typeof args[1] === 'string' ? args[2] : args[1];
    if (headers !== undefined) capture.setHeaders(headers as Record<string, unknown>);
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
  res.write = ((chunk: Chunk, ...rest: unknown[]) => {
    if (chunk !== undefined && chunk !== null) capture.add(toBuffer(chunk, rest[0]));
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    const chunk = args[0];
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) capture.add(toBuffer(chunk, args[1]));
    return end(...args);
  }) as ServerResponse['end'];
  return new Promise((resolve) => {
    res.once('finish', () => {
      if (capture.status === 0) capture.status = res.statusCode;
      // headers set with setHeader() before a bare writeHead(status)
      if (Object.keys(capture.headers).length === 0) capture.setHeaders(res.getHeaders() as Record<string, unknown>);
      resolve(capture);
    });
    res.once('close', () => resolve(res.writableFinished ? capture : undefined));
  });
}

export class Shadow {
  readonly config: ShadowConfig;
  inFlight = 0;
  /** Plain counts for the admin API (the metrics hold the same by label). */
  readonly tally = { sent: 0, dropped: 0, skippedBody: 0, noBackend: 0, error: 0, match: 0, diff: 0, incomplete: 0 };
  readonly samples: EventRing<DiffSample>;
  readonly #deps: RuntimeDeps;
  readonly #ignoreHeaders: ReadonlySet<string>;

  constructor(config: ShadowConfig, deps: RuntimeDeps) {
    this.config = config;
    this.#deps = deps;
    this.#ignoreHeaders = new Set(config.ignoreHeaders);
    this.samples = new EventRing(Math.max(1, config.sampleDiffs), () => undefined);
  }

  #count(result: 'sent' | 'dropped' | 'skipped_body' | 'no_backend' | 'error'): void {
    this.#deps.metrics.shadowRequests.inc({ shadow: this.config.name, result });
    const key = result === 'skipped_body' ? 'skippedBody' : result === 'no_backend' ? 'noBackend' : result;
    this.tally[key]++;
  }

  /** The request was selected but has a body too large (or chunked) to copy. */
  skip(): void {
    this.#count('skipped_body');
  }

  /**
   * Copies the request (upstream headers already built, body whole or none) to a backend of the
   * shadow pool and compares the answers. Returns at once; nothing it does can reach the client.
   */
  send(generation: Generation, method: string, url: string, headers: readonly string[], body: Buffer | null, res: ServerResponse): void {
    if (this.inFlight >= this.config.maxConcurrency) return this.#count('dropped');
    const backend = generation.pool(this.config.shadowPool)?.pick({ hashKey: '' });
    if (backend === undefined) return this.#count('no_backend');
    this.inFlight++;
    this.#deps.metrics.shadowInFlight.set({ shadow: this.config.name }, this.inFlight);
    this.#count('sent');
    const primary = tapPrimary(res, this.config.maxResponseBytes);
    const copy = this.#request(backend.pool, method, url, headers, body);
    // Sibyl's own request id header is on every primary answer and never on the copy's
    const requestIdHeader = generation.settings.requestIdHeader;
    void Promise.all([primary, copy]).then(([p, s]) => {
      this.inFlight--;
      this.#deps.metrics.shadowInFlight.set({ shadow: this.config.name }, this.inFlight);
      this.#compare(method, url, p, s, requestIdHeader);
    });
  }

  async #request(pool: import('undici').Pool, method: string, url: string, headers: readonly string[], body: Buffer | null): Promise<Capture | undefined> {
    const capture = new Capture(this.config.maxResponseBytes);
    try {
      const t = this.config.timeout;
      const res = await pool.request({ path: url, method: method as 'GET', headers: [...headers, this.config.header, '1'], body, headersTimeout: t, bodyTimeout: t, signal: AbortSignal.timeout(t) });
      capture.status = res.statusCode;
      capture.setHeaders(res.headers as Record<string, unknown>);
      for await (const chunk of res.body) capture.add(chunk as Buffer);
      return capture;
    } catch (err) {
      this.#count('error');
      this.#deps.logger.debug({ shadow: this.config.name, err: (err as Error).message }, 'shadow copy failed');
      return undefined;
    }
  }

  #compare(method: string, url: string, p: Capture | undefined, s: Capture | undefined, requestIdHeader: string): void {
    const m = this.#deps.metrics;
    const name = this.config.name;
    if (p === undefined || s === undefined) {
      this.tally.incomplete++;
      return void m.shadowComparisons.inc({ shadow: name, result: 'incomplete' });
    }
    const primary = p.digest(this.config.ignoreJsonFields);
    const shadow = s.digest(this.config.ignoreJsonFields);
    const ignore = this.#ignoreHeaders.has(requestIdHeader) ? this.#ignoreHeaders : new Set([...this.#ignoreHeaders, requestIdHeader]);
    const diff = compareResponses(primary, shadow, ignore);
    if (diff.kinds.length === 0) {
      this.tally.match++;
      return void m.shadowComparisons.inc({ shadow: name, result: 'match' });
    }
    this.tally.diff++;
    m.shadowComparisons.inc({ shadow: name, result: 'diff' });
    for (const kind of diff.kinds) m.shadowDiffs.inc({ shadow: name, kind });
    if (this.config.sampleDiffs > 0) {
      this.samples.push({
        atIso: new Date().toISOString(), method, url, kinds: diff.kinds, headers: diff.headers,
        primary: { status: primary.status, bodyHash: primary.bodyHash },
        shadow: { status: shadow.status, bodyHash: shadow.bodyHash },
      });
    }
  }
}

export class ShadowController {
  readonly #deps: RuntimeDeps;
  readonly #rng: Rng;
  /** pool -> its shadow; replaced whole on configure. */
  #byPool: ReadonlyMap<string, Shadow> = new Map();

  constructor(deps: RuntimeDeps) {
    this.#deps = deps;
    this.#rng = deps.rng;
  }

  /** A shadow whose settings are unchanged keeps its in-flight count and sampled diffs. */
  configure(configs: readonly ShadowConfig[]): void {
    const old = new Map([...this.#byPool.values()].map((s) => [s.config.name, s]));
    this.#byPool = new Map(
      configs.map((c) => {
        const previous = old.get(c.name);
        return [c.pool, previous !== undefined && JSON.stringify(previous.config) === JSON.stringify(c) ? previous : new Shadow(c, this.#deps)];
      }),
    );
  }

  /** The shadow that copies this request, when one watches its pool and the draw selects it. */
  select(pool: string): Shadow | undefined {
    const shadow = this.#byPool.get(pool);
    if (shadow === undefined || this.#rng.next() * 100 >= shadow.config.percent) return undefined;
    return shadow;
  }

  views() {
    return [...this.#byPool.values()].map((s) => ({
      name: s.config.name,
      pool: s.config.pool,
      shadowPool: s.config.shadowPool,
      percent: s.config.percent,
      inFlight: s.inFlight,
      maxConcurrency: s.config.maxConcurrency,
      ...s.tally,
      diffRate: s.tally.match + s.tally.diff === 0 ? null : s.tally.diff / (s.tally.match + s.tally.diff),
      samples: s.samples.recent(),
    }));
  }
}
