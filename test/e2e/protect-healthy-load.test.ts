// A healthy backend under a load generator is never shed. wrk ends each run by closing all its
// connections at once, with requests in flight: those disconnects once taught the patience
// estimator that clients wait tens of milliseconds, the queue deadline fell from 1 s to 58 ms and
// the next run got 503s. Here: five wrk -c256 runs on one Sibyl, then a flood of 2,000 short
// connections, all with Sibyl's default load shedding; the counts must be zero.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

const WRK = findExecutable(process.env.WRK ?? 'wrk');
const WRK_RUNS = 5;
const WRK_CONNECTIONS = 256;
const SHORT_CONNECTIONS = 2000;
const AT_ONCE = 32;

/** One request on its own connection (Connection: close), as a client without keep-alive sends it. */
function shortRequest(url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/short', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a healthy backend: no 503 across five wrk -c256 runs and a flood of 2,000 short connections', { skip: skipUnlessTool('wrk', WRK) }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  // [metrics] interval 1 s: the queue deadline gauge is fresh when the test reads it
  const sibyl = await startSibyl(httpToml({ rest: '[health]\nenabled = false\n[metrics]\ninterval = "1s"', backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  let wrkRequests = 0;
  for (let run = 1; run <= WRK_RUNS; run++) {
    const { stdout } = await promisify(execFile)(WRK as string, ['-t2', `-c${WRK_CONNECTIONS}`, '-d1s', `${sibyl.proxyUrl}/items/${run}`]);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    wrkRequests += Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
    assert.equal(non2xx, 0, `wrk run ${run}: ${stdout}`);
  }
  assert.ok(wrkRequests > WRK_RUNS * WRK_CONNECTIONS, `wrk sent ${wrkRequests} requests`);
  const url = new URL(sibyl.proxyUrl);
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < SHORT_CONNECTIONS) {
      next++;
      const status = await shortRequest(url);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
  assert.deepEqual([...statuses], [[200, SHORT_CONNECTIONS]]);
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  for (const reason of ['deadline', 'queue_full']) assert.equal(sampleValue(metrics, 'sibyl_protect_shed_total', { reason }) ?? 0, 0, `shed (${reason})`);
  // wrk's closing bursts are seen, and not taken for the clients' patience: one client, one event
  // per run, so the queue deadline stays at max_queue_wait (1 s by default); it once fell to 46 ms
  assert.ok((sampleValue(metrics, 'sibyl_protect_client_give_ups_total', { taken_as: 'burst' }) ?? 0) > 0, 'the closing bursts were seen');
  assert.equal(sampleValue(metrics, 'sibyl_protect_queue_deadline_seconds', {}), 1);
});
