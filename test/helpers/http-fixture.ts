// Shared pieces of the http-*.test.ts e2e files: config text, error-body checks, Prometheus
// scraping and a log of the requests a backend started (complete or not).
import assert from 'node:assert/strict';
import type { IncomingMessage, Server } from 'node:http';
import { eventually } from './sibyl-process.ts';

/**
 * A Sibyl config on loopback port 0 for proxy and admin, active health checks off (so no probe
 * traffic reaches test backends), plus the given extra `[proxy]` lines and further sections.
 */
export function httpToml(options: { proxy?: string; admin?: string; rest?: string; backends: string }): string {
  return [
    '[proxy]',
    'listen_address = "127.0.0.1:0"',
    options.proxy ?? '',
    '[admin]',
    'listen_address = "127.0.0.1:0"',
    options.admin ?? '',
    options.rest ?? '[health]\nenabled = false',
    options.backends,
  ].join('\n');
}

export interface ErrorLike {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Asserts Sibyl's error shape: the status, a JSON body {error, code, requestId}, and x-request-id equal to requestId. */
export function assertSibylError(res: ErrorLike, status: number, code: string): { error: string; code: string; requestId: string } {
  assert.equal(res.status, status, `status; body: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as { error: string; code: string; requestId: string };
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'requestId']);
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
  assert.ok(body.requestId.length > 0);
  assert.equal(res.headers['x-request-id'], body.requestId, 'x-request-id header matches the body');
  return body;
}

/** Every request a backend server started, with whether it completed (its whole body arrived). */
export interface RequestLog {
  readonly started: { url: string; method: string }[];
  readonly aborted: string[];
}

export function logRequests(server: Server): RequestLog {
  const log: RequestLog = { started: [], aborted: [] };
  server.on('request', (req: IncomingMessage) => {
    if (req.url === '/health') return;
    log.started.push({ url: req.url ?? '', method: req.method ?? '' });
    req.once('close', () => {
      if (!req.complete) log.aborted.push(req.url ?? '');
    });
  });
  return log;
}

/** The value of one sample of a Prometheus text exposition, 0 when the series is absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = (match[3] ?? '').split(',').filter((s) => s !== '');
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[4]);
  }
  return 0;
}

export async function scrapeMetrics(adminUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`, { headers });
  assert.equal(res.status, 200);
  return res.text();
}

/** `eventually` for a probe that answers a value or undefined/false: resolves with the first value. */
export async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number): Promise<T> {
  // eventually resolves only with a truthy value
  return (await eventually(probe, timeoutMs)) as T;
}
