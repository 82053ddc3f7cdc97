// Three in-process backends serving a small JSON API (items, orders) and the DynamoDB JSON protocol
// (POST / with x-amz-target), each with a fault mode the profile schedule switches. Errors look like
// the real thing, so the client libraries react to them as they would in production: DynamoDB
// answers its own error shapes (a throttle is a 400 the AWS SDK retries), the JSON API plain statuses.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../test/helpers/listen.ts';

export type FaultMode =
  | { readonly kind: 'healthy' }
  /** Answers 500 to this share of requests. */
  | { readonly kind: 'errors'; readonly rate: number }
  /** Per-credential token bucket shared by the fleet; beyond it 429 + Retry-After: 1 (DynamoDB: 400). */
  | { readonly kind: 'throttle' }
  /** Answers after a uniform delay in [minMs, maxMs]. */
  | { readonly kind: 'slow'; readonly minMs: number; readonly maxMs: number }
  /** Answers 503 to everything. */
  | { readonly kind: 'unavailable' }
  /** Destroys this share of sockets before answering. */
  | { readonly kind: 'resets'; readonly rate: number };

export interface ApiBackend {
  readonly name: string;
  readonly address: string;
  mode: FaultMode;
}

export interface ApiFleet {
  readonly backends: readonly ApiBackend[];
  /** Sets every backend's mode (index -> mode; unlisted ones healthy). */
  setModes(modes: Readonly<Record<number, FaultMode>>): void;
  close(): Promise<void>;
}

/** Throttle quota per credential: a client instance sends ~9 logical requests/s, so about half are throttled. */
const THROTTLE_RATE_PER_SECOND = 5;
const THROTTLE_BURST = 5;
const DYNAMO_JSON = 'application/x-amz-json-1.0';

interface Bucket {
  tokens: number;
  atMs: number;
}

/** The credential a request carries: the bearer token, or the SigV4 access key id. */
export function credentialOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  const sigv4 = /Credential=([^/,\s]+)/.exec(auth);
  if (sigv4 !== null) return sigv4[1] as string;
  return auth.startsWith('Bearer ') ? auth.slice(7) : 'anonymous';
}

function createThrottle(): (credential: string) => boolean {
  const buckets = new Map<string, Bucket>();
  return (credential) => {
    const now = Date.now();
    const bucket = buckets.get(credential) ?? { tokens: THROTTLE_BURST, atMs: now };
    bucket.tokens = Math.min(THROTTLE_BURST, bucket.tokens + ((now - bucket.atMs) / 1000) * THROTTLE_RATE_PER_SECOND);
    bucket.atMs = now;
    buckets.set(credential, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

type Failure = 'error' | 'throttled' | 'unavailable';

function sendFailure(res: ServerResponse, failure: Failure, isDynamo: boolean): void {
  if (isDynamo) {
    const type = { error: 'InternalServerError', throttled: 'ProvisionedThroughputExceededException', unavailable: 'ServiceUnavailableException' }[failure];
    const status = { error: 500, throttled: 400, unavailable: 503 }[failure];
    return sendJson(res, status, { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: `${type} (harness fault)` }, {}, DYNAMO_JSON);
  }
  if (failure === 'throttled') return sendJson(res, 429, { error: 'too many requests' }, { 'retry-after': '1' });
  sendJson(res, failure === 'error' ? 500 : 503, { error: failure });
}

function answer(req: IncomingMessage, res: ServerResponse, body: string, name: string): void {
  const target = req.headers['x-amz-target'];
  if (req.method === 'POST' && req.url === '/' && typeof target === 'string') {
    const operation = target.split('.').pop();
    if (operation === 'GetItem') {
      const key = (JSON.parse(body || '{}') as { Key?: Record<string, unknown> }).Key ?? {};
      return sendJson(res, 200, { Item: { ...key, servedBy: { S: name } } }, {}, DYNAMO_JSON);
    }
    return sendJson(res, 200, {}, {}, DYNAMO_JSON);
  }
  const url = req.url ?? '/';
  if (url.startsWith('/api/items/')) {
    if (req.method === 'DELETE') return void res.writeHead(204).end();
    return sendJson(res, 200, { id: url.slice('/api/items/'.length), servedBy: name });
  }
  if (url === '/api/orders' && req.method === 'POST') return sendJson(res, 201, { order: JSON.parse(body || '{}') as unknown, servedBy: name });
  sendJson(res, 404, { error: 'not found' });
}

function handle(backend: ApiBackend, isAllowed: (credential: string) => boolean, req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.url === '/health') return void res.writeHead(200).end('ok');
  const isDynamo = req.headers['x-amz-target'] !== undefined;
  const mode = backend.mode;
  switch (mode.kind) {
    case 'healthy':
      return answer(req, res, body, backend.name);
    case 'errors':
      return Math.random() < mode.rate ? sendFailure(res, 'error', isDynamo) : answer(req, res, body, backend.name);
    case 'throttle':
      return isAllowed(credentialOf(req)) ? answer(req, res, body, backend.name) : sendFailure(res, 'throttled', isDynamo);
    case 'slow':
      return void setTimeout(() => answer(req, res, body, backend.name), mode.minMs + Math.random() * (mode.maxMs - mode.minMs));
    case 'unavailable':
      return sendFailure(res, 'unavailable', isDynamo);
    case 'resets':
      // the request was read but no byte of a response goes back: what a crashed worker looks like
      return Math.random() < mode.rate ? void req.socket.destroy() : answer(req, res, body, backend.name);
  }
}

export async function startApiFleet(count = 3): Promise<ApiFleet> {
  const isAllowed = createThrottle();
  const servers: Server[] = [];
  const backends: ApiBackend[] = [];
  for (let i = 0; i < count; i++) {
    const backend = { name: `api-${i}`, address: '', mode: { kind: 'healthy' } as FaultMode };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handle(backend, isAllowed, req, res, Buffer.concat(chunks).toString('utf8')));
    });
    backend.address = `127.0.0.1:${await listenOnLoopback(server)}`;
    servers.push(server);
    backends.push(backend);
  }
  return {
    backends,
    setModes(modes) {
      backends.forEach((b, i) => (b.mode = modes[i] ?? { kind: 'healthy' }));
    },
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}
