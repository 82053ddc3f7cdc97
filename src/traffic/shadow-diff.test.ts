import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResponses, normaliseBody } from './shadow-diff.ts';

test('JSON bodies are compared without ignored fields and regardless of key order', () => {
  const a = normaliseBody('{"b":1,"a":{"at":"10:00","x":[{"id":1,"at":"x"}]},"meta":{"took":3,"v":1}}', 'application/json', ['at', 'meta.took']);
  const b = normaliseBody('{"meta":{"v":1,"took":9},"a":{"x":[{"at":"y","id":1}],"at":"11:00"},"b":1}', 'application/json; charset=utf-8', ['at', 'meta.took']);
  assert.equal(a, b);
  assert.equal(a, '{"a":{"x":[{"id":1}]},"b":1,"meta":{"v":1}}');
  assert.notEqual(normaliseBody('{"b":2}', undefined, []), normaliseBody('{"b":1}', undefined, []), 'JSON is recognised without a content type');
  assert.equal(normaliseBody('plain {text', 'text/plain', ['x']), 'plain {text');
  assert.equal(normaliseBody('{broken', 'application/json', ['x']), '{broken', 'invalid JSON compares as text');
});

test('status, headers (minus the ignored ones) and body hashes are compared', () => {
  const base = { status: 200, headers: { 'content-type': 'text/plain', date: 'Mon' }, bodyHash: 'h1' };
  const ignore = new Set(['date']);
  assert.deepEqual(compareResponses(base, { ...base, headers: { ...base.headers, date: 'Tue', 'transfer-encoding': 'chunked' } }, ignore), { kinds: [], headers: [] }, 'ignored and hop-by-hop headers');
  assert.deepEqual(compareResponses(base, { ...base, status: 500, bodyHash: 'h2' }, ignore).kinds, ['status', 'body']);
  const headerDiff = compareResponses(base, { ...base, headers: { 'content-type': 'application/json', 'x-new': '1' } }, ignore);
  assert.deepEqual(headerDiff, {
    kinds: ['headers'],
    headers: [
      { name: 'content-type', primary: 'text/plain', shadow: 'application/json' },
      { name: 'x-new', primary: undefined, shadow: '1' },
    ],
  });
  assert.deepEqual(compareResponses(base, { ...base, bodyHash: undefined }, ignore).kinds, [], 'a body over the cap is not compared');
});
