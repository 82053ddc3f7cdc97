// The HTTP client libraries under test, each at its DEFAULT retry policy, each instance with its own
// credential and its own loopback source address. Each `send` is one logical request: it resolves
// when the library has given its final answer (success or error: errors are the experiment's data,
// not failures of the harness), and its recording transport has logged every attempt.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import axios from 'axios';
import axiosRetry from 'axios-retry';
import fetchRetryFactory from 'fetch-retry';
import got from 'got';
import ky from 'ky';
import { Agent as HttpAgent } from 'node:http';
import pRetry, { AbortError } from 'p-retry';
import { Agent, RetryAgent, request as undiciRequest } from 'undici';
import { recordingFetch, recordingHttpRequest, recordingInterceptor, type LogicalRequestLog } from './attempt-recorder.ts';

export const LIBRARY_NAMES = ['got', 'axios-retry', 'ky', 'undici-retry-agent', 'p-retry-fetch', 'fetch-retry', 'aws-sdk-dynamodb', 'plain-fetch'] as const;
export type LibraryName = (typeof LIBRARY_NAMES)[number];

/** Its default policy in one line, and whether it gives up on a slow response by itself. */
export const LIBRARY_POLICIES: Record<LibraryName, string> = {
  got: 'limit 2; GET/PUT/HEAD/DELETE/OPTIONS/TRACE; 408 413 429 500 502 503 504 521 522 524 + network errors; backoff ~1 s, 2 s, Retry-After honoured; no timeout',
  'axios-retry': '3 retries, no delay; network errors + 5xx on idempotent methods (not 429, not POST); axios has no timeout',
  ky: 'limit 2; GET/PUT/HEAD/DELETE/OPTIONS/TRACE; 408 413 429 500 502 503 504; backoff 0.3 s x 2^n, Retry-After on 413/429/503; timeout 10 s',
  'undici-retry-agent': 'RetryAgent: 5 retries; GET/HEAD/OPTIONS/PUT/DELETE/TRACE; 429 500 502 503 504 + connection errors; 0.5 s x 2^n, Retry-After; headers/body timeouts 300 s',
  'p-retry-fetch': 'p-retry around fetch, throw on 5xx/429, AbortError on other !ok; retries CAPPED at 3 (default 10 = up to ~17 min of backoff), 1 s x 2^n; fetch headers/body timeouts 300 s',
  'fetch-retry': '3 retries, 1 s apart, on network errors only (retryOn [] by default); fetch headers/body timeouts 300 s',
  'aws-sdk-dynamodb': 'standard retry strategy (its own maxAttempts default), throttling + transient errors + 5xx, exponential backoff with jitter, retry quota; no request timeout',
  'plain-fetch': 'no retries; fetch headers/body timeouts 300 s',
};

export type LogicalRequest =
  | { readonly kind: 'http'; readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST'; readonly path: string; readonly body?: string }
  | { readonly kind: 'dynamodb'; readonly operation: 'GetItem' | 'PutItem'; readonly key: string; readonly value?: string };

export interface ClientIdentity {
  readonly proxyUrl: string;
  /** Bearer token (for AWS: the access key id). */
  readonly token: string;
  /** Loopback source address, e.g. 127.0.0.11: each instance is its own client IP. */
  readonly localAddress: string;
}

export interface LibraryClient {
  send(request: LogicalRequest, log: LogicalRequestLog): Promise<void>;
  close(): Promise<void>;
}

function ignore(): void {
  // the final error of a logical request is data (already in the attempt log), not a harness failure
}

function httpOnly(request: LogicalRequest): Extract<LogicalRequest, { kind: 'http' }> {
  if (request.kind !== 'http') throw new Error('this library speaks the JSON API only');
  return request;
}

function headersOf(id: ClientIdentity, request: Extract<LogicalRequest, { kind: 'http' }>): Record<string, string> {
  return { authorization: `Bearer ${id.token}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) };
}

function nodeAgent(id: ClientIdentity): HttpAgent {
  return new HttpAgent({ keepAlive: true, localAddress: id.localAddress });
}

function undiciAgent(id: ClientIdentity): Agent {
  // undici takes the source address as a Client option: `connect: { localAddress }` is ignored
  return new Agent({ localAddress: id.localAddress });
}

/** A fetch-shaped client: `call` gets a recording fetch and uses it as the library does. */
function fetchClient(id: ClientIdentity, call: (f: typeof fetch, url: string, init: RequestInit) => Promise<unknown>): LibraryClient {
  const dispatcher = undiciAgent(id);
  return {
    send: (request, log) => {
      const r = httpOnly(request);
      return call(recordingFetch(log, dispatcher), `${id.proxyUrl}${r.path}`, { method: r.method, body: r.body, headers: headersOf(id, r) }).then(ignore, ignore);
    },
    close: () => dispatcher.close(),
  };
}

const readBody = async (res: Response): Promise<Response> => (await res.text(), res);

export function createLibraryClient(library: LibraryName, id: ClientIdentity): LibraryClient {
  switch (library) {
    case 'got': {
      const agent = nodeAgent(id);
      return {
        send: (request, log) => {
          const r = httpOnly(request);
          return got(`${id.proxyUrl}${r.path}`, { method: r.method, body: r.body, headers: headersOf(id, r), agent: { http: agent }, request: recordingHttpRequest(log) }).then(ignore, ignore);
        },
        close: async () => agent.destroy(),
      };
    }
    case 'axios-retry': {
      const agent = nodeAgent(id);
      const client = axios.create({ baseURL: id.proxyUrl, httpAgent: agent });
      axiosRetry(client); // its defaults
      return {
        send: (request, log) => {
          const r = httpOnly(request);
          return client.request({ url: r.path, method: r.method, data: r.body, headers: headersOf(id, r), transport: { request: recordingHttpRequest(log) } }).then(ignore, ignore);
        },
        close: async () => agent.destroy(),
      };
    }
    case 'ky':
      return fetchClient(id, (f, url, init) => ky(url, { ...init, fetch: f } as Parameters<typeof ky>[1]).text());
    case 'undici-retry-agent': {
      const agent = undiciAgent(id);
      return {
        send: async (request, log) => {
          const r = httpOnly(request);
          // the recording interceptor sits under the RetryAgent: it sees every attempt it dispatches
          const dispatcher = new RetryAgent(agent.compose(recordingInterceptor(log)));
          try {
            const res = await undiciRequest(`${id.proxyUrl}${r.path}`, { method: r.method, body: r.body, headers: headersOf(id, r), dispatcher });
            await res.body.text();
          } catch {
            ignore();
          }
        },
        close: () => agent.close(),
      };
    }
    case 'p-retry-fetch':
      return fetchClient(id, (f, url, init) =>
        pRetry(
          async () => {
            const res = await readBody(await f(url, init));
            if (res.ok) return res;
            // the usual idiom: retry what may pass next time, give up on the rest
            if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
            throw new AbortError(`HTTP ${res.status}`);
          },
          { retries: 3 },
        ),
      );
    case 'fetch-retry':
      return fetchClient(id, async (f, url, init) => readBody(await fetchRetryFactory(f)(url, init)));
    case 'plain-fetch':
      return fetchClient(id, async (f, url, init) => readBody(await f(url, init)));
    case 'aws-sdk-dynamodb':
      return dynamoClient(id);
  }
}

type DynamoMiddleware = Parameters<GetItemCommand['middlewareStack']['add']>[0];
const RECORDER_PLACE = { step: 'deserialize', priority: 'low', name: 'retryIdentityRecorder' } as const;

/** Below the retry middleware (deserialize step, innermost): called once per attempt with the raw response. */
function recordingMiddleware(log: LogicalRequestLog): DynamoMiddleware {
  return ((next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const settle = log.start();
    try {
      const out = await next(args);
      const response = out.response as { statusCode?: number; headers?: Record<string, string> };
      settle({ status: response.statusCode, requestId: response.headers?.['x-request-id'] });
      return out;
    } catch (error) {
      const e = error as { code?: string; name?: string };
      settle({ error: e.code ?? e.name ?? 'error' });
      throw error;
    }
  }) as unknown as DynamoMiddleware;
}

/** The AWS SDK v3 with its default retry strategy, signing with static fake credentials. */
function dynamoClient(id: ClientIdentity): LibraryClient {
  const agent = nodeAgent(id);
  const client = new DynamoDBClient({
    endpoint: id.proxyUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: id.token, secretAccessKey: `secret-of-${id.token}` },
    requestHandler: { httpAgent: agent },
  });
  return {
    send: async (request, log) => {
      if (request.kind !== 'dynamodb') throw new Error('the AWS client speaks DynamoDB only');
      const key = { pk: { S: request.key } };
      if (request.operation === 'GetItem') {
        const command = new GetItemCommand({ TableName: 'items', Key: key });
        command.middlewareStack.add(recordingMiddleware(log), RECORDER_PLACE);
        await client.send(command).then(ignore, ignore);
      } else {
        const command = new PutItemCommand({ TableName: 'items', Item: { ...key, v: { S: request.value ?? '' } } });
        command.middlewareStack.add(recordingMiddleware(log) as unknown as Parameters<PutItemCommand['middlewareStack']['add']>[0], RECORDER_PLACE);
        await client.send(command).then(ignore, ignore);
      }
    },
    close: async () => {
      client.destroy();
      agent.destroy();
    },
  };
}
