// testssl.sh (apt) against the TLS listener with its default settings: no obsolete protocol or
// cipher category may be offered, and no check may report a vulnerability. The certificate is a
// throwaway self-signed RSA one (RSA key exchange suites are what ROBOT and friends probe).
// testssl.sh is a large bash script: only the checks that cover protocols, cipher categories and
// vulnerabilities run, with DNS off (the machine may have no resolver), and its JSON is parsed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { backendsToml, type TestBackend } from '../helpers/backends.ts';
import { OPENSSL } from '../helpers/certificates.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { backends, serveTls, tlsToml } from '../helpers/tls-fixture.ts';

const run = promisify(execFile);
const TESTSSL = findExecutable('testssl', 'testssl.sh');
const skip = skipUnlessTool('openssl', OPENSSL) || skipUnlessTool('testssl.sh', TESTSSL);

/** testssl.sh's JSON: one finding per check. */
interface Finding {
  readonly id: string;
  readonly severity: string;
  readonly finding: string;
}

const OBSOLETE_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1'];
/** Cipher categories that must not be offered (3.0 calls obsolete CBC AVERAGE, 3.2 OBSOLETED). */
const OBSOLETE_CATEGORIES = ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE', 'cipherlist_OBSOLETED'];
/** Checks of --vulnerable that must have run (a scan that skipped them proves nothing). */
const VULNERABILITIES = ['heartbleed', 'CCS', 'ticketbleed', 'ROBOT', 'secure_client_renego', 'CRIME_TLS', 'BREACH', 'POODLE_SSL', 'fallback_SCSV', 'SWEET32', 'FREAK', 'DROWN', 'LOGJAM', 'BEAST', 'LUCKY13', 'RC4'];
/** Severities of a finding that is a problem; OK and INFO are not, WARN is a check that failed to run. */
const PROBLEMS = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'WARN', 'FATAL']);

test('testssl.sh finds no obsolete protocol, no obsolete cipher category and no vulnerability on the default TLS settings', { skip, timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-testssl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  await run(OPENSSL as string, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', cert.keyFile, '-out', cert.certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serveTls(t, `${tlsToml({ ...cert, certPem: '' })}\n${backendsToml([a])}`);

  const jsonFile = join(dir, 'testssl.json');
  const started = performance.now();
  // --assume-http: the service is known; NXCONNECT: its local openssl probes connect to a closed
  // loopback port instead of resolving "invalid." (which waits for a DNS timeout offline)
  await run(TESTSSL as string, ['--quiet', '--warnings', 'off', '--color', '0', '--nodns', 'none', '--assume-http', '--protocols', '--std', '--vulnerable', '--jsonfile', jsonFile, `127.0.0.1:${sibyl.port}`], {
    env: { ...process.env, NXCONNECT: '127.0.0.1:0' },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { code?: unknown }) => {
    // testssl.sh exits non-zero for findings too; the JSON file says what was found
    if (typeof error.code !== 'number') throw error;
  });
  console.log(`testssl.sh took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
  const byId = new Map(findings.map((f) => [f.id, f]));
  const report = findings.map((f) => `${f.id} [${f.severity}] ${f.finding}`).join('\n');

  for (const id of OBSOLETE_PROTOCOLS) assert.match(byId.get(id)?.finding ?? 'missing', /^not offered/, `${id} must not be offered\n${report}`);
  assert.match(byId.get('TLS1_2')?.finding ?? '', /^offered/, report);
  assert.match(byId.get('TLS1_3')?.finding ?? '', /^offered/, report);
  const categories = OBSOLETE_CATEGORIES.filter((id) => byId.has(id));
  assert.ok(categories.length >= 6, `the cipher categories were checked\n${report}`);
  for (const id of categories) assert.match(byId.get(id)?.finding ?? '', /^not offered/, `${id} must not be offered\n${report}`);
  for (const id of VULNERABILITIES) {
    const finding = byId.get(id);
    assert.ok(finding !== undefined, `${id} was checked\n${report}`);
    assert.doesNotMatch(finding.finding, /(^|[^t] )vulnerable|VULNERABLE/, `${id}: ${finding.finding}`);
  }
  const problems = findings.filter((f) => PROBLEMS.has(f.severity));
  assert.deepEqual(problems.map((f) => `${f.id} [${f.severity}] ${f.finding}`), [], report);
});
