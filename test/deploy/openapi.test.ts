// docs/openapi.yaml against a real Sibyl: every documented operation is called (with the
// document's own examples) and each answer must match the schema documented for its status.
// Schemas forbid undocumented fields, so an answer that grows a field fails here until the
// document says so.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const TOKEN = 'openapi-test-token';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: ({ $ref: string } | Parameter)[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}
interface Parameter {
  name: string;
  in: string;
  example?: string;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { parameters: Record<string, Parameter>; responses: Record<string, { content?: Record<string, unknown> }> };
}

const doc = parseYaml(await readFile(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as OpenApi;
const operations = Object.entries(doc.paths).flatMap(([path, item]) => METHODS.flatMap((method) => (item[method] === undefined ? [] : [{ path, method, op: item[method] }])));

// ajv-formats is CommonJS with a default export
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addKeyword('example');
ajv.addKeyword('components');
ajv.addKeyword('paths');
// refs inside the document ("#/components/...") resolve against this root
ajv.addSchema({ $id: 'openapi.yaml', components: doc.components, paths: doc.paths });

const pointer = (...parts: string[]): string => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The documented response (for status) of an operation, its shared $ref followed. */
function documented(path: string, method: string, status: number): { at: string; content: Record<string, unknown> } | undefined {
  const op = doc.paths[path]?.[method as 'get'];
  const response = op?.responses[String(status)];
  if (response === undefined) return undefined;
  if (response.$ref !== undefined) {
    const name = response.$ref.split('/').at(-1) ?? '';
    return { at: pointer('components', 'responses', name), content: doc.components.responses[name]?.content ?? {} };
  }
  return { at: pointer('paths', path, method, 'responses', String(status)), content: response.content ?? {} };
}

/** Fails unless the answer's status is documented and its body matches the documented schema. */
function assertDocumented(path: string, method: string, status: number, contentType: string, body: string): void {
  const response = documented(path, method, status);
  assert.ok(response !== undefined, `${method.toUpperCase()} ${path} answered ${status}, which is not documented: ${body}`);
  const type = contentType.split(';')[0] ?? '';
  assert.ok(type in response.content, `${method.toUpperCase()} ${path} ${status}: content type ${type} is not documented`);
  const value = type === 'application/json' ? (JSON.parse(body) as unknown) : body;
  const validate = ajv.compile({ $ref: `openapi.yaml#/${response.at}/content/${pointer(type)}/schema` });
  assert.ok(validate(value), `${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 2000)}`);
}

describe('docs/openapi.yaml against a real Sibyl', { timeout: 60_000 }, () => {
  let backend: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    backend = await startTestBackend('a');
    sibyl = await startSibyl(`[proxy]\nlisten_address = "127.0.0.1:0"\n[admin]\nlisten_address = "127.0.0.1:0"\ntoken = "${TOKEN}"\n[health]\nenabled = false\n[[backends]]\nname = "a"\naddress = "${backend.address}"\n`);
    // some traffic, so that the backends, the model and the metrics have something to say
    for (let i = 0; i < 5; i++) {
      const res = await request(`${sibyl.proxyUrl}/warm/${i % 2}`);
      await res.body.text();
    }
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });

  async function call(method: string, path: string, options: { body?: unknown; token?: string | null } = {}): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${sibyl.adminUrl}${path}`, { method: method.toUpperCase() as 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: await res.body.text(), headers: res.headers };
  }

  test('is OpenAPI 3.1 and documents the health, admin and predict operations', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    const ids = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    for (const expected of ['GET /health/live', 'GET /health/ready', 'GET /health', 'GET /health/detailed', 'GET /metrics', 'GET /api/backends', 'GET /api/config', 'POST /api/reload', 'GET /api/model', 'POST /predict_retry']) {
      assert.ok(ids.includes(expected), `${expected} is not documented`);
    }
  });

  test('every documented operation, called with its examples, answers 2xx as documented', async () => {
    for (const { path, method, op } of operations) {
      const parameters = (op.parameters ?? []).map((p) => ('$ref' in p ? doc.components.parameters[p.$ref.split('/').at(-1) ?? ''] : p));
      let url = path;
      for (const p of parameters) {
        assert.ok(p?.example !== undefined, `${op.operationId}: parameter without an example`);
        url = url.replace(`{${p.name}}`, encodeURIComponent(p.example));
      }
      const example = op.requestBody?.content['application/json']?.example;
      assert.ok(op.requestBody === undefined || example !== undefined, `${op.operationId}: request body without an example`);
      const res = await call(method, url, { body: example });
      assert.ok(res.status >= 200 && res.status < 300, `${method.toUpperCase()} ${url} answered ${res.status}: ${res.body}`);
      assertDocumented(path, method, res.status, res.type, res.body);
    }
  });

  test('open paths answer without the token; the others answer a documented 401', async () => {
    for (const { path, method, op } of operations.filter((o) => o.method === 'get')) {
      const res = await call(method, path, { token: null });
      const isOpen = Array.isArray(op.security) && op.security.length === 0;
      if (isOpen) assert.equal(res.status, 200, `${path} is documented as open`);
      else assert.equal(res.status, 401, `${path} is documented as needing the token`);
      assertDocumented(path, method, res.status, res.type, res.body);
    }
  });

  test('POST /predict_retry: single (with its headers), batch, and bad input', async () => {
    const single = await call('post', '/predict_retry', { body: { status_code: 503, response_time_ms: 1200, bytes_sent: 512, anomaly_score: 0.2 } });
    assert.equal(single.status, 200);
    assertDocumented('/predict_retry', 'post', single.status, single.type, single.body);
    const prediction = JSON.parse(single.body) as { retry_probability: number; recommended_action: string };
    assert.equal(single.headers['x-sibyl-retry-probability'], String(prediction.retry_probability));
    assert.equal(single.headers['x-sibyl-recommended-action'], prediction.recommended_action);

    const batch = await call('post', '/predict_retry', { body: { requests: [{ status_code: 200 }, { status_code: 504, error_kind: 'timeout', attempt: 2 }] } });
    assert.equal(batch.status, 200);
    assertDocumented('/predict_retry', 'post', batch.status, batch.type, batch.body);
    assert.equal((JSON.parse(batch.body) as { predictions: unknown[] }).predictions.length, 2);
    assert.equal(batch.headers['x-sibyl-recommended-action'], undefined, 'no headers for a batch');

    const bad = await call('post', '/predict_retry', { body: { requests: [{ status_code: 200 }, { status_code: -1 }] } });
    assert.equal(bad.status, 400);
    assertDocumented('/predict_retry', 'post', bad.status, bad.type, bad.body);
    assert.equal((JSON.parse(bad.body) as { field: string }).field, 'requests.1.status_code');
  });

  test('admin errors match the documented problem shape', async () => {
    const missing = await call('post', '/api/backends/nope/drain');
    assert.equal(missing.status, 404);
    assertDocumented('/api/backends/{name}/drain', 'post', missing.status, missing.type, missing.body);
    const badWeight = await call('put', '/api/backends/a/weight', { body: { weight: 'heavy' } });
    assert.equal(badWeight.status, 400);
    assertDocumented('/api/backends/{name}/weight', 'put', badWeight.status, badWeight.type, badWeight.body);
  });

  test('the validator rejects an answer with an undocumented field', () => {
    const body = JSON.stringify({ status: 'alive', extra: true });
    assert.throws(() => assertDocumented('/health/live', 'get', 200, 'application/json', body), /must NOT have additional properties/);
  });
});
