// The admin API through the real binary: listing, drain/undrain/weight verified by where traffic
// goes, bad input changing nothing, bearer-token protection, and /health/detailed.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { httpToml, until } from '../helpers/http-fixture.ts';
import { openRaw, readRaw } from '../helpers/raw-http.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

interface BackendJson {
  name: string;
  address: string;
  weight: number;
  effectiveWeight: number;
  isHealthy: boolean;
  isEjected: boolean;
  isDraining: boolean;
  inFlight: number;
}

async function admin(sibyl: SibylProcess, method: string, path: string, options: { body?: string; token?: string } = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await request(`${sibyl.adminUrl}${path}`, { method: method as 'GET', headers, body: options.body });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

/** An admin request with exactly the given headers (Host included), as a browser after DNS rebinding would send it. */
function rawAdmin(sibyl: SibylProcess, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(sibyl.adminUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends n sequential requests through the proxy; returns how many each backend received. */
async function spread(sibyl: SibylProcess, backends: readonly TestBackend[], n: number): Promise<Record<string, number>> {
  const before = backends.map((b) => b.seen.length);
  for (let i = 0; i < n; i++) {
    const res = await request(`${sibyl.proxyUrl}/spread/${i}`);
    await res.body.text();
    assert.equal(res.statusCode, 200);
  }
  return Object.fromEntries(backends.map((b, i) => [b.name, b.seen.length - (before[i] ?? 0)]));
}

/** The operator-controlled part of a backend's state (not the live EWMAs and counters). */
function controlled(backends: BackendJson[]): Pick<BackendJson, 'name' | 'address' | 'weight' | 'isDraining'>[] {
  return backends.map(({ name, address, weight, isDraining }) => ({ name, address, weight, isDraining }));
}

describe('admin API without a token (loopback)', { timeout: 60_000 }, () => {
  let a: TestBackend;
  let b: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    a = await startTestBackend('a');
    b = await startTestBackend('b');
    sibyl = await startSibyl(httpToml({ proxy: '', backends: `[strategy]\nalgorithm = "weighted_round_robin"\n\n${backendsToml([a, b])}` }));
  });
  after(async () => {
    await sibyl?.stop();
    await a?.close();
    await b?.close();
  });
  beforeEach(async () => {
    // every test starts from the configured state
    for (const name of ['a', 'b']) {
      assert.equal((await admin(sibyl, 'POST', `/api/backends/${name}/undrain`)).status, 200);
      assert.equal((await admin(sibyl, 'POST', `/api/backends/${name}/weight`, { body: '{"weight":1}' })).status, 200);
    }
  });

  async function listed(): Promise<BackendJson[]> {
    const res = await admin(sibyl, 'GET', '/api/backends');
    assert.equal(res.status, 200);
    return res.json.backends as BackendJson[];
  }

  test('GET /api/backends lists every configured backend with its state', async () => {
    const res = await admin(sibyl, 'GET', '/api/backends');
    assert.equal(res.status, 200);
    assert.equal(res.json.generation, 1);
    const backends = res.json.backends as BackendJson[];
    assert.deepEqual(controlled(backends), [
      { name: 'a', address: a.address, weight: 1, isDraining: false },
      { name: 'b', address: b.address, weight: 1, isDraining: false },
    ]);
    for (const backend of backends) {
      assert.equal(backend.isHealthy, true);
      assert.equal(backend.isEjected, false);
      assert.equal(backend.inFlight, 0);
    }
  });

  test('drain takes a backend out of traffic; undrain brings it back', async () => {
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 5, b: 5 });

    const drained = await admin(sibyl, 'POST', '/api/backends/a/drain');
    assert.equal(drained.status, 200);
    assert.equal(drained.json.isDraining, true);
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 0, b: 10 });
    assert.equal((await listed()).find((x) => x.name === 'a')?.isDraining, true);

    const undrained = await admin(sibyl, 'PUT', '/api/backends/a/undrain');
    assert.equal(undrained.status, 200);
    assert.equal(undrained.json.isDraining, false);
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 5, b: 5 });
  });

  test('a weight change moves the traffic split; weight 0 sends a backend nothing', async () => {
    const changed = await admin(sibyl, 'POST', '/api/backends/a/weight', { body: '{"weight":3}' });
    assert.equal(changed.status, 200);
    assert.equal(changed.json.weight, 3);
    const split = await spread(sibyl, [a, b], 40);
    assert.ok(Math.abs((split.a ?? 0) - 30) <= 1 && Math.abs((split.b ?? 0) - 10) <= 1, `3:1 expected, got ${JSON.stringify(split)}`);

    assert.equal((await admin(sibyl, 'PUT', '/api/backends/a/weight', { body: '{"weight":0}' })).status, 200);
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 0, b: 10 });
    assert.equal((await listed()).find((x) => x.name === 'a')?.weight, 0);
  });

  test('a cross-origin POST (another web page in the operator\'s browser) is refused and changes nothing', async () => {
    const res = await fetch(`${sibyl.adminUrl}/api/backends/a/drain`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'SIBYL_ERR_ADMIN_CROSS_ORIGIN');
    const same = await fetch(`${sibyl.adminUrl}/api/backends/a/undrain`, { method: 'POST', headers: { origin: sibyl.adminUrl } });
    assert.equal(same.status, 200, 'the dashboard itself (same origin) still works');
    const backends = (await (await fetch(`${sibyl.adminUrl}/api/backends`)).json()) as { backends: { name: string; isDraining: boolean }[] };
    assert.equal(backends.backends.find((b) => b.name === 'a')?.isDraining, false);
  });

  test('DNS rebinding: a Host that does not name the listener gets 421 on every endpoint but the probes and /predict_retry, and changes nothing', async () => {
    const port = new URL(sibyl.adminUrl).port;
    const evil = `evil.example:${port}`;
    // the attacker's page, once evil.example resolves to 127.0.0.1: same origin as far as the browser knows
    const drain = await rawAdmin(sibyl, 'POST', '/api/backends/a/drain', { host: evil, origin: `http://${evil}` });
    assert.equal(drain.status, 421, JSON.stringify(drain.json));
    assert.equal(drain.json.code, 'SIBYL_ERR_ADMIN_MISDIRECTED');
    assert.match(String(drain.json.error), /allowed_hosts/);
    for (const [method, path] of [['GET', '/api/config'], ['GET', '/api/backends'], ['GET', '/metrics'], ['GET', '/health/detailed'], ['GET', '/'], ['GET', '/api/model'], ['POST', '/api/reload']]) {
      assert.equal((await rawAdmin(sibyl, method!, path!, { host: evil })).status, 421, `${method} ${path}`);
    }
    assert.equal((await rawAdmin(sibyl, 'GET', '/api/backends', { host: 'localhost:1' })).status, 421, 'a loopback name with another port');
    for (const path of ['/health', '/health/live', '/health/ready']) assert.equal((await rawAdmin(sibyl, 'GET', path, { host: evil })).status, 200, path);
    // the prediction API changes nothing and shows no config: NGINX and HAProxy call it by their upstream's name
    assert.equal((await rawAdmin(sibyl, 'POST', '/predict_retry', { host: 'sibyl_predict', 'content-type': 'application/json', 'content-length': '2' }, '{}')).status, 400, 'reached (a body without status_code is bad input)');
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 5, b: 5 }, 'nothing was drained');

    // the names of the listener itself
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost', `LOCALHOST:${port}`]) {
      assert.equal((await rawAdmin(sibyl, 'GET', '/api/backends', { host })).status, 200, host);
    }
  });

  test('bad input is refused and changes nothing', async () => {
    const stateBefore = controlled(await listed());
    const cases: [string, string, string | undefined, number, string][] = [
      ['POST', '/api/backends/nope/drain', undefined, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND'],
      ['POST', '/api/backends/nope/undrain', undefined, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND'],
      ['POST', '/api/backends/nope/weight', '{"weight":2}', 404, 'SIBYL_ERR_ADMIN_NOT_FOUND'],
      ['POST', '/api/backends/a/weight', '{"weight":"abc"}', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '{"weight":99999}', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '{"weight":-1}', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '{"weight":2.5}', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '{"weight":null}', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '[3]', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', 'null', 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['POST', '/api/backends/a/weight', '{"weight": 3', 400, 'SIBYL_ERR_ADMIN_BAD_JSON'],
      ['POST', '/api/backends/a/weight', '', 400, 'SIBYL_ERR_ADMIN_BAD_JSON'],
      ['POST', '/api/backends/%E0%A4%A/drain', undefined, 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST'],
      ['GET', '/api/backends/a/drain', undefined, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND'],
      ['DELETE', '/api/backends/a', undefined, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await admin(sibyl, method, path, { body });
      assert.equal(res.status, status, `${method} ${path} ${body ?? ''}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.code, code, `${method} ${path} ${body ?? ''}`);
      assert.equal(typeof res.json.error, 'string');
    }
    assert.deepEqual(controlled(await listed()), stateBefore);
    assert.deepEqual(await spread(sibyl, [a, b], 10), { a: 5, b: 5 }, 'traffic is split as before');
  });

  test('an admin body over 64 KiB is refused with 413 and changes nothing', async () => {
    const res = await admin(sibyl, 'POST', '/api/backends/a/weight', { body: JSON.stringify({ weight: 2, pad: 'p'.repeat(70 * 1024) }) });
    assert.equal(res.status, 413);
    assert.equal((await listed()).find((x) => x.name === 'a')?.weight, 1);
  });
});

describe('admin API with [admin] token', { timeout: 60_000 }, () => {
  const TOKEN = 's3cret';
  let a: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    a = await startTestBackend('a');
    sibyl = await startSibyl(httpToml({ admin: `token = "${TOKEN}"`, backends: backendsToml([a]) }));
  });
  after(async () => {
    await sibyl?.stop();
    await a?.close();
  });

  test('/metrics, /api/* and /health/detailed need "Authorization: Bearer s3cret"; /health/live stays open', async () => {
    const protectedPaths: [string, string][] = [
      ['GET', '/metrics'],
      ['GET', '/api/backends'],
      ['GET', '/api/config'],
      ['GET', '/health/detailed'],
      ['POST', '/api/backends/a/drain'],
      ['POST', '/api/reload'],
    ];
    for (const [method, path] of protectedPaths) {
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN, `Bearer${TOKEN}`, `Bearer  ${TOKEN.toUpperCase()}`]) {
        const res = await request(`${sibyl.adminUrl}${path}`, { method: method as 'GET', headers: authorization === undefined ? {} : { authorization } });
        const text = await res.body.text();
        assert.equal(res.statusCode, 401, `${method} ${path} with ${authorization ?? 'no'} authorization`);
        assert.equal(res.headers['www-authenticate'], 'Bearer');
        assert.equal((JSON.parse(text) as { code: string }).code, 'SIBYL_ERR_ADMIN_UNAUTHORISED');
      }
    }
    // the refused drain did not happen: a still gets traffic
    const res = await request(`${sibyl.proxyUrl}/still-served`);
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(a.seen.at(-1)?.url, '/still-served');

    for (const path of ['/metrics', '/api/backends', '/api/config', '/health/detailed']) {
      const ok = await request(`${sibyl.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = await ok.body.text();
      assert.equal(ok.statusCode, 200, path);
      assert.ok(!body.includes(TOKEN), `${path} never shows the token`);
    }
    // the auth-scheme is case-insensitive (RFC 9110 11.1); the token is not
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const ok = await request(`${sibyl.adminUrl}/api/backends`, { headers: { authorization: `${scheme} ${TOKEN}` } });
      await ok.body.text();
      assert.equal(ok.statusCode, 200, scheme);
    }
    const metrics = await request(`${sibyl.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.match(await metrics.body.text(), /sibyl_proxy_requests_total/);

    const live = await request(`${sibyl.adminUrl}/health/live`);
    assert.equal(live.statusCode, 200);
    assert.deepEqual(await live.body.json(), { status: 'alive' });
  });

  test('a drain with the token works, and shows in traffic', async () => {
    const drained = await admin(sibyl, 'POST', '/api/backends/a/drain', { token: TOKEN });
    assert.equal(drained.status, 200);
    const res = await request(`${sibyl.proxyUrl}/drained`);
    assert.equal(res.statusCode, 503);
    await res.body.text();
    assert.equal((await admin(sibyl, 'POST', '/api/backends/a/undrain', { token: TOKEN })).status, 200);
    const back = await request(`${sibyl.proxyUrl}/back`);
    await back.body.text();
    assert.equal(back.statusCode, 200);
  });
});

describe('/health/detailed', { timeout: 60_000 }, () => {
  let a: TestBackend;
  let b: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    a = await startTestBackend('a');
    b = await startTestBackend('b');
    sibyl = await startSibyl(httpToml({ backends: backendsToml([a, b]) }));
  });
  after(async () => {
    await sibyl?.stop();
    await a?.close();
    await b?.close();
  });

  test('reports backends, configGeneration, uptimeSeconds and the memory, event-loop and connection checks', async () => {
    const clients = await Promise.all([openRaw(sibyl.proxyUrl), openRaw(sibyl.proxyUrl)]);
    try {
      for (const socket of clients) {
        const reading = readRaw(socket, { untilResponse: true });
        socket.write('GET /hold HTTP/1.1\r\nHost: app.example\r\n\r\n');
        assert.equal((await reading).status, 200);
      }
      await admin(sibyl, 'POST', '/api/backends/b/drain');
      const detailed = await until(async () => {
        const res = await admin(sibyl, 'GET', '/health/detailed');
        const checks = res.json.checks as { openConnections: number };
        return res.status === 200 && checks.openConnections === 2 ? res.json : undefined;
      });
      assert.equal(detailed.configGeneration, 1);
      assert.equal(typeof detailed.uptimeSeconds, 'number');
      assert.ok((detailed.uptimeSeconds as number) >= 0);
      const backends = detailed.backends as BackendJson[];
      assert.deepEqual(
        backends.map((x) => [x.name, x.address, x.isDraining]),
        [
          ['a', a.address, false],
          ['b', b.address, true],
        ],
      );
      assert.equal(detailed.status, 'degraded', 'one of two backends is out');
      const checks = detailed.checks as { memory: Record<string, number>; eventLoopLagP99Ms: number; openConnections: number };
      assert.ok(checks.memory.rssBytes! > 0 && checks.memory.heapUsedBytes! > 0 && checks.memory.heapTotalBytes! >= checks.memory.heapUsedBytes!);
      assert.equal(typeof checks.eventLoopLagP99Ms, 'number');
      assert.ok(checks.eventLoopLagP99Ms >= 0);
      assert.equal(checks.openConnections, 2);
    } finally {
      for (const socket of clients) socket.destroy();
    }
    const after = await until(async () => {
      const res = await admin(sibyl, 'GET', '/health/detailed');
      return (res.json.checks as { openConnections: number }).openConnections === 0 ? res.json : undefined;
    });
    assert.equal((after.checks as { openConnections: number }).openConnections, 0, 'closed connections are no longer counted');
  });
});

describe('[admin] allowed_hosts', { timeout: 60_000 }, () => {
  let a: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    a = await startTestBackend('a');
    sibyl = await startSibyl(httpToml({ admin: 'allowed_hosts = ["sibyl-admin", "ops.example:8443"]', backends: backendsToml([a]) }));
  });
  after(async () => {
    await sibyl?.stop();
    await a?.close();
  });

  test('admits the configured names (any port for a bare name, the given port for name:port) and nothing else', async () => {
    for (const host of ['sibyl-admin', 'sibyl-admin:9090', 'SIBYL-ADMIN:1234', 'ops.example:8443']) {
      const res = await rawAdmin(sibyl, 'POST', '/api/backends/a/drain', { host, origin: `http://${host.toLowerCase()}` });
      assert.equal(res.status, 200, host);
    }
    for (const host of ['ops.example', 'ops.example:9090', 'evil.example', 'sibyl-admin.evil.example']) {
      const res = await rawAdmin(sibyl, 'POST', '/api/backends/a/undrain', { host });
      assert.equal(res.status, 421, host);
      assert.equal(res.json.code, 'SIBYL_ERR_ADMIN_MISDIRECTED');
    }
    // a cross-origin POST to an allowed name is still CSRF
    const csrf = await rawAdmin(sibyl, 'POST', '/api/backends/a/undrain', { host: 'sibyl-admin', origin: 'http://evil.example' });
    assert.equal(csrf.status, 403);
    assert.equal(csrf.json.code, 'SIBYL_ERR_ADMIN_CROSS_ORIGIN');
    const listed = await admin(sibyl, 'GET', '/api/backends');
    assert.equal((listed.json.backends as BackendJson[])[0]?.isDraining, true, 'the refused undrains changed nothing');
  });
});
