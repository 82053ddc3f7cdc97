// The request-scoped failure boundary, in process: a phase of the data path that throws (at once,
// in a callback after the body was read, in undici's callback after the backend answered, or as a
// rejected promise) costs that request a 500 SIBYL_ERR_INTERNAL with its request id, is logged
// once with its stack and counted; the next request on the same server is served. Before the
// boundary, each of these ended the process (here: the test runner) or left the client hanging.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/catalogue.ts';
import { createFailureBoundary } from '../../src/proxy/failure-boundary.ts';
import { ProxyServer } from '../../src/proxy/server.ts';
import { startInstance, type Instance } from '../../src/cli/start-instance.ts';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { assertSibylError, httpToml } from '../helpers/http-fixture.ts';

interface LogLine {
  level: number;
  msg: string;
  site?: string;
  requestId?: string;
  err?: { message: string; stack: string };
}

function memoryLogger(): { lines: LogLine[]; logger: ReturnType<typeof createLogger> } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

async function get(url: string, options: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}) {
  const res = await request(url, { method: options.method ?? 'GET', body: options.body, headers: options.headers });
  return { status: res.statusCode, headers: res.headers as Record<string, string | string[] | undefined>, body: await res.body.text() };
}

describe('request-scoped failure boundary', { timeout: 30_000 }, () => {
  let backend: TestBackend;
  let instance: Instance;
  let proxyUrl: string;
  const log = memoryLogger();

  before(async () => {
    backend = await startTestBackend('app');
    const parsed = parseConfigText(httpToml({ rest: '[health]\nenabled = false\n[log]\naccess_log = false', backends: backendsToml([backend]) }), 'test', {});
    assert.ok(parsed.ok);
    instance = await startInstance(parsed.config, { configPath: undefined, env: {}, logger: log.logger });
    proxyUrl = `http://127.0.0.1:${instance.proxyAddress.port}`;
  });
  after(async () => {
    await instance?.shutdown('test');
    await backend?.close();
  });

  const internalErrors = async (site: string): Promise<number> => {
    const metric = await instance.registry.getSingleMetric('sibyl_internal_errors_total')?.get();
    return metric?.values.find((v) => v.labels.site === site)?.value ?? 0;
  };
  const containedLogs = (requestId: string): LogLine[] => log.lines.filter((l) => l.requestId === requestId && l.msg.startsWith('internal error contained'));

  /** Makes `method` of `target` throw while `when` holds; restores it afterwards. */
  async function whileThrowing<T extends object, K extends keyof T>(target: T, method: K, when: (...args: unknown[]) => boolean, run: () => Promise<void>): Promise<void> {
    const original = target[method] as (...args: unknown[]) => unknown;
    (target as Record<K, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      if (when(...args)) throw new Error(`injected bug in ${String(method)}`);
      return original.apply(this, args);
    };
    try {
      await run();
    } finally {
      (target as Record<K, unknown>)[method] = original;
    }
  }

  test('a synchronous throw in a phase: 500 SIBYL_ERR_INTERNAL with the request id, logged once with its stack, counted; the next request is served', async () => {
    const countBefore = await internalErrors('handler');
    await whileThrowing(instance.runtime.rateLimits, 'check', (url) => url === '/boom', async () => {
      const res = await get(`${proxyUrl}/boom`, { headers: { 'x-request-id': 'req-sync-1' } });
      const body = assertSibylError(res, 500, 'SIBYL_ERR_INTERNAL');
      assert.equal(body.requestId, 'req-sync-1');
      const next = await get(`${proxyUrl}/fine`);
      assert.equal(next.status, 200, 'the next request on the same server is served');
      assert.equal(next.body, 'app:GET:/fine:0');
    });
    assert.equal(await internalErrors('handler'), countBefore + 1);
    const logged = containedLogs('req-sync-1');
    assert.equal(logged.length, 1, 'logged once');
    assert.equal(logged[0]?.site, 'handler');
    assert.match(logged[0]?.err?.stack ?? '', /injected bug in check\n\s+at /, 'with its stack');
  });

  test('a throw in a callback after the body was read (async): 500, and the next request is served', async () => {
    const countBefore = await internalErrors('body');
    await whileThrowing(instance.runtime.rateLimits, 'check', (url) => url === '/boom-body', async () => {
      // a small body is read whole before admission (to fingerprint it): admission runs in the read's callback
      const res = await get(`${proxyUrl}/boom-body`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-request-id': 'req-body-1' } });
      assert.equal(assertSibylError(res, 500, 'SIBYL_ERR_INTERNAL').requestId, 'req-body-1');
      const next = await get(`${proxyUrl}/fine-body`, { method: 'POST', body: '{"a":1}' });
      assert.equal(next.status, 200);
    });
    assert.equal(await internalErrors('body'), countBefore + 1);
    assert.equal(containedLogs('req-body-1').length, 1);
  });

  test('a throw while the backend\'s answer is handled (undici callback): 500 instead of a hung client; the next request is served', async () => {
    const countBefore = await internalErrors('exchange');
    let isArmed = true;
    const once = (): boolean => {
      const fire = isArmed;
      isArmed = false;
      return fire;
    };
    // a 503 is held back while Sibyl decides whether to retry it: the client has had nothing yet
    backend.status = 503;
    try {
      await whileThrowing(instance.runtime, 'recordOutcome', once, async () => {
        const res = await get(`${proxyUrl}/boom-upstream`, { headers: { 'x-request-id': 'req-upstream-1' } });
        assert.equal(assertSibylError(res, 500, 'SIBYL_ERR_INTERNAL').requestId, 'req-upstream-1');
      });
    } finally {
      backend.status = 200;
    }
    const next = await get(`${proxyUrl}/fine-upstream`);
    assert.equal(next.status, 200);
    assert.equal(await internalErrors('exchange'), countBefore + 1);
    assert.equal(containedLogs('req-upstream-1').length, 1);

    // after the response went out whole, the bug is still logged and counted; the client keeps its answer
    isArmed = true;
    await whileThrowing(instance.runtime, 'recordOutcome', once, async () => {
      const res = await get(`${proxyUrl}/boom-after`, { headers: { 'x-request-id': 'req-upstream-2' } });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'app:GET:/boom-after:0');
    });
    assert.equal(await internalErrors('exchange'), countBefore + 2);
    assert.equal(containedLogs('req-upstream-2').length, 1);
  });

  test('a handler whose promise rejects, and one that throws before the pipeline: 500, and the server keeps serving', async () => {
    const metrics = createMetrics();
    const boundary = createFailureBoundary({ metrics, logger: log.logger, requestIdHeader: () => 'x-request-id' });
    let calls = 0;
    const server = new ProxyServer({
      runtime: instance.runtime,
      metrics,
      boundary,
      handler: (_req, res) => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('injected rejection'));
        if (calls === 2) throw new Error('injected throw');
        res.end('served');
        return undefined;
      },
      upgrade: (_req, socket) => socket.destroy(),
    });
    const address = await server.listen('127.0.0.1', 0);
    try {
      const url = `http://127.0.0.1:${address.port}/`;
      const rejected = await get(url, { headers: { 'x-request-id': 'req-promise-1' } });
      assert.equal(assertSibylError(rejected, 500, 'SIBYL_ERR_INTERNAL').requestId, 'req-promise-1');
      assertSibylError(await get(url), 500, 'SIBYL_ERR_INTERNAL');
      const next = await get(url);
      assert.equal(next.status, 200);
      assert.equal(next.body, 'served');
      assert.equal((await metrics.internalErrors.get()).values.find((v) => v.labels.site === 'handler')?.value, 2);
    } finally {
      await server.drain(1000);
    }
  });
});
