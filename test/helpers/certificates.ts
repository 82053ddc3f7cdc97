// Throwaway certificates made at test time with openssl (apt): a CA and leaf certificates it signs.
// Nothing here is committed; every key lives in a temporary directory.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './requires-tool.ts';

const run = promisify(execFile);

export const OPENSSL = findExecutable('openssl');

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

async function openssl(args: string[]): Promise<void> {
  await run(OPENSSL ?? 'openssl', args);
}

export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-tls-'));
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=Sibyl Test CA']);
  return { dir, certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

/**
 * A leaf for `names` (the first is the CN; IPs become IP SANs), signed by `ca`, written to
 * `<dir>/<stem>.pem` and `<dir>/<stem>-key.pem`. `days` below 1 gives a certificate that expires soon.
 */
export async function issueCertificate(ca: TestCa, stem: string, names: readonly string[], options: { days?: number; dir?: string } = {}): Promise<TestCertificate> {
  const dir = options.dir ?? ca.dir;
  const certFile = join(dir, `${stem}.pem`);
  const keyFile = join(dir, `${stem}-key.pem`);
  const csr = join(dir, `${stem}.csr`);
  const ext = join(dir, `${stem}.ext`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${names[0] ?? 'localhost'}`]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', String(options.days ?? 2), '-extfile', ext]);
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

/** Replaces a certificate's files with another's, each in one step (write aside, rename), as cert-manager does. */
export async function replaceCertificate(target: TestCertificate, source: TestCertificate): Promise<void> {
  for (const [from, to] of [[source.keyFile, target.keyFile], [source.certFile, target.certFile]] as const) {
    await writeFile(`${to}.next`, await readFile(from));
    await rename(`${to}.next`, to);
  }
}
