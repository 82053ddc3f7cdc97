// Graceful shutdown of the real `sibyl` binary: on SIGTERM it turns not-ready, stops accepting,
// lets in-flight requests finish up to drain_timeout_millis, cuts what remains, and exits.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startSlowBackend, startTestBackend } from '../helpers/backends.ts';
import { testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { describeLoad, startLoad } from '../helpers/steady-load.ts';

/** Resolves with the error code of a fresh TCP connection to the URL's port, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: Error & { code?: string }) => resolve(err.code ?? String(err)));
  });
}

/** The status of /health/ready, or the connection error once the admin listener has closed. */
async function readiness(adminUrl: string): Promise<number | string> {
  try {
    const res = await request(`${adminUrl}/health/ready`);
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

test('SIGTERM under steady load: in-flight requests finish with 200, readiness fails, new connections are refused, exit 0', async (t) => {
  const { backend, inFlight } = await startSlowBackend(500);
  t.after(() => backend.close());
  const drainTimeoutMs = 5000;
  const sibyl = await startSibyl(testConfig(backendsToml([backend]), { runtime: `drain_timeout_millis = ${drainTimeoutMs}` }));
  t.after(() => sibyl.stop('SIGKILL'));
  assert.equal(await readiness(sibyl.adminUrl), 200);

  const concurrency = 8;
  // each loop stops at its first request that gets no response (the listener is closed)
  const load = startLoad(sibyl.proxyUrl, { concurrency, maxRequests: 200, maxDurationMs: 10_000, isStoppedByError: true });
  t.after(() => load.stop());
  // a second round is in flight: every loop has been answered once and is waiting again
  await eventually(() => load.answered() >= concurrency && inFlight() === concurrency, 5000);

  const signalledAtMs = Date.now();
  sibyl.proc.kill('SIGTERM');
  const ready = await eventually(async () => {
    const r = await readiness(sibyl.adminUrl);
    return r !== 200 ? r : undefined;
  }, 2000, 10);
  assert.ok(ready === 503 || ready === 'ECONNREFUSED', `readiness after SIGTERM: ${ready}`);
  await eventually(async () => (await tryConnect(sibyl.proxyUrl)) === 'ECONNREFUSED', 2000, 10);
  assert.equal(sibyl.proc.exitCode, null, 'new connections are refused while the in-flight requests still run');
  assert.ok(inFlight() > 0, 'the in-flight requests were still running when the listener closed');

  const code = await sibyl.exited;
  const tookMs = Date.now() - signalledAtMs;
  assert.equal(code, 0);
  assert.ok(tookMs < drainTimeoutMs, `exited ${tookMs} ms after SIGTERM, drain_timeout_millis is ${drainTimeoutMs}`);

  const result = await load.done;
  t.diagnostic(`readiness after SIGTERM: ${ready}; exit after ${tookMs} ms; load: ${describeLoad(result)}`);
  // every request that reached the backend got its 200; the others found the listener closed
  assert.deepEqual([...result.statuses.keys()], [200], describeLoad(result));
  assert.equal(result.statuses.get(200), backend.seen.length, `every request the backend received was answered: ${describeLoad(result)}`);
  assert.ok(backend.seen.length >= 2 * concurrency, describeLoad(result));
  for (const code of result.errors.keys()) assert.ok(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code), `a request failed with ${code}: ${describeLoad(result)}`);
  assert.ok(sibyl.logLines.some((l) => l.includes('"isClean":true')), 'the drain was clean');
});

test('a request still running at drain_timeout_millis is cut and sibyl still exits', async (t) => {
  const held: ServerResponse[] = [];
  const backend = await startTestBackend('stuck', (_req, res) => held.push(res));
  t.after(() => backend.close());
  const drainTimeoutMs = 300;
  const sibyl = await startSibyl(testConfig(backendsToml([backend]), { runtime: `drain_timeout_millis = ${drainTimeoutMs}` }));
  t.after(() => sibyl.stop('SIGKILL'));

  const stuck = request(`${sibyl.proxyUrl}/stuck`).then(
    async (res) => `status ${res.statusCode}: ${await res.body.text()}`,
    (err: Error & { code?: string }) => err.code ?? String(err),
  );
  await eventually(() => held.length === 1);
  const signalledAtMs = Date.now();
  sibyl.proc.kill('SIGTERM');

  const code = await sibyl.exited;
  const tookMs = Date.now() - signalledAtMs;
  assert.ok(tookMs >= drainTimeoutMs - 50, `exited after ${tookMs} ms, before drain_timeout_millis (${drainTimeoutMs})`);
  assert.ok(tookMs < drainTimeoutMs + 3000, `exited only ${tookMs} ms after SIGTERM`);
  assert.equal(code, 0);
  const outcome = await stuck;
  t.diagnostic(`exit after ${tookMs} ms; the stuck request: ${outcome}`);
  assert.ok(['UND_ERR_SOCKET', 'ECONNRESET'].includes(outcome), `the stuck request was cut: ${outcome}`);
  assert.ok(sibyl.logLines.some((l) => l.includes('"isClean":false')), 'the drain is reported as not clean');
});

// A response whose headers go out after SIGTERM must say Connection: close, or every keep-alive
// client sends one more request to the draining sibyl.
test('a response in flight at SIGTERM says Connection: close', async (t) => {
  const held: ServerResponse[] = [];
  const backend = await startTestBackend('held', (_req, res) => held.push(res));
  t.after(() => backend.close());
  const sibyl = await startSibyl(testConfig(backendsToml([backend])));
  t.after(() => sibyl.stop('SIGKILL'));

  const response = request(`${sibyl.proxyUrl}/in-flight`);
  await eventually(() => held.length === 1);
  sibyl.proc.kill('SIGTERM');
  await eventually(async () => (await readiness(sibyl.adminUrl)) === 503, 2000, 10);
  held[0]!.writeHead(200, { 'content-length': '2' });
  held[0]!.end('ok');
  const res = await response;
  await res.body.dump();
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers.connection, 'close');
});
