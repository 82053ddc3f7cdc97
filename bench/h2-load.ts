// A small HTTP/2 load generator (h2load is not in the apt set we rely on): `sessions` TLS
// connections, each keeping `streams` requests in flight, for `duration` seconds. Runs as its own
// process so that its CPU is not charged to the target. Prints one JSON line with the result.
// Usage: node bench/h2-load.ts --url https://127.0.0.1:8443/ --ca ca.pem --sessions 8 --streams 16 --duration 10
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string', default: 'localhost' },
    sessions: { type: 'string', default: '8' },
    streams: { type: 'string', default: '16' },
    duration: { type: 'string', default: '10' },
  },
});
if (values.url === undefined || values.ca === undefined) {
  process.stderr.write('h2-load: --url and --ca are required\n');
  process.exit(2);
}
const url = new URL(values.url);
const ca = readFileSync(values.ca, 'utf8');
const durationMs = Number(values.duration) * 1000;
const latenciesMs: number[] = [];
let errors = 0;
let non2xx = 0;
let resent = 0;
const errorKinds = new Map<string, number>();
const start = performance.now();
const deadline = start + durationMs;

/** One connection slot: a session, replaced when the server ends it (nginx sends GOAWAY after keepalive_requests). */
class Slot {
  #session: ClientHttp2Session | undefined;

  get session(): ClientHttp2Session {
    if (this.#session === undefined || this.#session.closed || this.#session.destroyed) {
      const session = connect(url.origin, { ca, servername: values.servername });
      session.on('error', () => undefined);
      session.once('goaway', () => {
        if (this.#session === session) this.#session = undefined;
      });
      this.#session = session;
    }
    return this.#session;
  }

  close(): void {
    this.#session?.close();
  }
}

function loop(slot: Slot): Promise<void> {
  return new Promise((resolve) => {
    const next = (): void => {
      if (performance.now() >= deadline) return resolve();
      const t0 = performance.now();
      const stream = slot.session.request({ ':path': url.pathname }, { endStream: true });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', () => undefined);
      stream.once('end', () => {
        latenciesMs.push(performance.now() - t0);
        if (status < 200 || status >= 400) non2xx++;
        next();
      });
      // a stream refused by a GOAWAY is sent again on a new connection; anything else is an error
      stream.once('error', (err: Error & { code?: string }) => {
        if (err.code !== 'ERR_HTTP2_GOAWAY_SESSION' && stream.rstCode !== 7) {
          errors++;
          const kind = `${err.code ?? err.message} rst=${String(stream.rstCode)}`;
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        }
        else resent++;
        setImmediate(next);
      });
    };
    next();
  });
}

const slots = Array.from({ length: Number(values.sessions) }, () => new Slot());
await Promise.all(slots.flatMap((slot) => Array.from({ length: Number(values.streams) }, () => loop(slot))));
const seconds = (performance.now() - start) / 1000;
for (const slot of slots) slot.close();
latenciesMs.sort((a, b) => a - b);
const at = (p: number): number => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))] ?? Number.NaN;
process.stdout.write(`${JSON.stringify({ requests: latenciesMs.length, seconds, rps: latenciesMs.length / seconds, p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), errors, errorKinds: Object.fromEntries(errorKinds), non2xx, resent })}\n`);
