// HTTP/2 sessions from clients: the settings they are told, and the abuse bounded per connection
// (rapid reset: many streams opened and cancelled; more streams than allowed; huge header lists).
import { constants, type Http2Server, type Http2SecureServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Metrics } from '../metrics/catalogue.ts';

export interface Http2Limits {
  readonly maxConcurrentStreams: number;
  readonly initialWindowSize: number;
  readonly maxHeaderListBytes: number;
  readonly maxResetsPerInterval: number;
  readonly resetIntervalMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * The options node:http2 takes. nghttp2 refuses header lists above twice the limit without telling
 * Node (ENHANCE_YOUR_CALM); between the limit and that hard cap, Sibyl answers 431 and counts it.
 */
export function http2ServerOptions(limits: Http2Limits) {
  return {
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      initialWindowSize: limits.initialWindowSize,
      maxHeaderListSize: limits.maxHeaderListBytes * 2,
    },
    maxHeaderListPairs: 512,
    // every connection gets at least this much memory for its streams (MB); beyond it nghttp2 refuses streams
    maxSessionMemory: 32,
  };
}

/** HPACK's accounting of a header list (RFC 7541 4.1): name + value + 32 bytes per field. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) size += (rawHeaders[i] as string).length + (rawHeaders[i + 1] as string).length + 32;
  return size;
}

interface SessionState {
  openStreams: number;
  /** Highest client stream id seen: a gap to the next one is streams nghttp2 refused before Node saw them. */
  lastStreamId: number;
  windowStartMs: number;
  resets: number;
}

export class Http2Guard {
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();
  readonly #metrics: Metrics;
  #limits: Http2Limits;

  constructor(limits: Http2Limits, metrics: Metrics) {
    this.#limits = limits;
    this.#metrics = metrics;
  }

  get limits(): Http2Limits {
    return this.#limits;
  }

  /** New limits for new streams and resets (settings already sent stay with their connection). */
  apply(limits: Http2Limits): void {
    this.#limits = limits;
  }

  attach(server: Http2Server | Http2SecureServer): void {
    server.on('session', (session: ServerHttp2Session) => this.#track(session));
  }

  /** Graceful drain: GOAWAY to every session; streams in flight finish. */
  closeGracefully(): void {
    for (const session of this.#sessions.keys()) if (!session.closed) session.close();
  }

  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
  }

  #track(session: ServerHttp2Session): void {
    const state: SessionState = { openStreams: 0, lastStreamId: -1, windowStartMs: performance.now(), resets: 0 };
    this.#sessions.set(session, state);
    this.#metrics.http2Sessions.inc();
    session.once('close', () => {
      this.#sessions.delete(session);
      this.#metrics.http2Sessions.dec();
    });
    // an idle client connection is let go gracefully, as an HTTP/1.1 keep-alive one is
    session.setTimeout(this.#limits.idleTimeoutMs, () => session.close());
    // a session error (bad frames, a peer gone) ends that connection only
    session.on('error', () => session.destroy());
    session.on('stream', (stream: ServerHttp2Stream) => this.#onStream(session, state, stream));
  }

  #onStream(session: ServerHttp2Session, state: SessionState, stream: ServerHttp2Stream): void {
    const id = stream.id ?? state.lastStreamId + 2;
    // client streams are odd and increasing; the ones in between never reached Node: nghttp2 refused
    // them (beyond max_concurrent_streams, or a header list above its hard cap)
    const refused = (id - state.lastStreamId) / 2 - 1;
    if (refused > 0) this.#metrics.http2Abuse.inc({ kind: 'refused' }, refused);
    state.lastStreamId = Math.max(state.lastStreamId, id);
    state.openStreams++;
    stream.once('close', () => state.openStreams--);
    if (state.openStreams > this.#limits.maxConcurrentStreams) {
      // nghttp2 enforces the advertised limit once acknowledged; this catches a client that ignores it
      this.#metrics.http2Abuse.inc({ kind: 'too_many_streams' });
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.once('aborted', () => this.#onReset(session, state));
  }

  #onReset(session: ServerHttp2Session, state: SessionState): void {
    const now = performance.now();
    if (now - state.windowStartMs > this.#limits.resetIntervalMs) {
      state.windowStartMs = now;
      state.resets = 0;
    }
    state.resets++;
    if (state.resets === this.#limits.maxResetsPerInterval + 1) {
      this.#metrics.http2Abuse.inc({ kind: 'rapid_reset' });
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
  }
}
