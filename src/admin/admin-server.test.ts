// The admin listener's failure boundary: a bug in an endpoint answers that request 500
// SIBYL_ERR_INTERNAL, is logged and counted, and the listener goes on serving.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { Runtime } from '../runtime/runtime.ts';
import { createAdminServer } from './admin-server.ts';

test('a throwing endpoint (sync or async) costs its request a 500; the next request is served', async (t) => {
  let isStormBroken = true;
  let isHostListBroken = false;
  const runtime = {
    get storm() {
      if (isStormBroken) throw new Error('injected bug in an endpoint');
      return { state: 'healthy' };
    },
  } as unknown as Runtime;
  const errors: unknown[] = [];
  const counted: string[] = [];
  const server = createAdminServer(
    {
      token: undefined,
      metricsPath: undefined,
      listenHost: '127.0.0.1',
      allowedHosts: () => {
        if (isHostListBroken) throw new Error('injected bug before routing');
        return [];
      },
    },
    {
      runtime,
      registry: new Registry(),
      logger: { error: (fields: { err: unknown }) => void errors.push(fields.err) } as never,
      listener: () => ({ openConnections: 0, isDraining: false }),
      reload: () => Promise.resolve({}),
      internalErrors: { inc: (labels) => void counted.push(labels.site) },
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/storm`;

  const failed = await fetch(url);
  assert.equal(failed.status, 500);
  assert.deepEqual(await failed.json(), { error: 'internal error', code: 'SIBYL_ERR_INTERNAL' });

  isStormBroken = false;
  isHostListBroken = true; // now the request fails synchronously, before any endpoint runs
  const failedEarly = await fetch(url, { headers: { 'x-any': '1' } });
  assert.equal(failedEarly.status, 500);
  assert.equal(((await failedEarly.json()) as { code: string }).code, 'SIBYL_ERR_INTERNAL');

  isHostListBroken = false;
  const next = await fetch(url);
  assert.equal(next.status, 200);
  assert.deepEqual(await next.json(), { state: 'healthy' });
  assert.deepEqual(counted, ['admin', 'admin']);
  assert.equal(errors.length, 2);
});
