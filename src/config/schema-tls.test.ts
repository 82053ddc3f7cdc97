// [tls], [http2] and [upstream_tls]: defaults, and the problems an operator gets for bad values.
// The certificate-file checks against real files are in test/e2e/protocols-tls.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDocument, type ConfigResult } from './load.ts';

const validate = (doc: Record<string, unknown>): ConfigResult => validateDocument({ backends: [{ address: '127.0.0.1:9001' }], ...doc }, {});

function problemsOf(result: ConfigResult): string[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

test('TLS is off by default; HTTP/2 is offered with it and h2c is opt-in', () => {
  const result = validate({});
  assert.ok(result.ok);
  assert.equal(result.config.tls.enabled, false);
  assert.equal(result.config.tls.minVersion, 'TLSv1.2');
  assert.equal(result.config.tls.reloadInterval, 10_000);
  assert.deepEqual(result.config.tls.certificates, []);
  assert.equal(result.config.http2.enabled, true);
  assert.equal(result.config.http2.allowH2c, false);
  assert.equal(result.config.http2.maxConcurrentStreams, 100);
  assert.equal(result.config.upstreamTls.enabled, false);
  assert.equal(result.config.upstreamTls.verify, true);
});

test('enabled TLS needs its files; bad versions and limits are named with their key paths', () => {
  const problems = problemsOf(validate({ tls: { enabled: true, min_version: 'TLSv1.0' }, http2: { max_concurrent_streams: 0, initial_window_size: 10, reset_interval: 'soon' } }));
  assert.ok(problems.some((p) => p.startsWith('tls.cert_file: required when tls is enabled')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('tls.key_file: required when tls is enabled')));
  assert.ok(problems.some((p) => p.startsWith('tls.min_version:')));
  assert.ok(problems.some((p) => p.startsWith('http2.max_concurrent_streams:')));
  assert.ok(problems.some((p) => p.startsWith('http2.initial_window_size:')));
  assert.ok(problems.some((p) => p.startsWith('http2.reset_interval: invalid duration')));
});

test('an SNI certificate needs at least one server name', () => {
  const problems = problemsOf(validate({ tls: { certificates: [{ server_names: [], cert_file: '/nonexistent.pem', key_file: '/nonexistent-key.pem' }] } }));
  assert.ok(problems.some((p) => p.startsWith('tls.certificates[0].server_names:')), problems.join('\n'));
});

test('an unreadable upstream CA file is reported', () => {
  const problems = problemsOf(validate({ upstream_tls: { enabled: true, ca_file: '/nonexistent/ca.pem' } }));
  assert.ok(problems.some((p) => p.startsWith('upstream_tls.ca_file: cannot read the CA file')), problems.join('\n'));
});
