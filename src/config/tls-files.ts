// Checks of the files a TLS config names, so that `sibyl validate` and a reload report a missing,
// unreadable or mismatched certificate with its key path instead of failing at the first handshake.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

function readOrProblem(path: string, what: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { problem: `cannot read the ${what} ${JSON.stringify(path)}: ${(error as Error).message}` };
  }
}

/** Undefined when both files read and the key belongs to the certificate; else what is wrong. */
export function checkCertificatePair(certFile: string, keyFile: string): string | undefined {
  const cert = readOrProblem(certFile, 'certificate file');
  if ('problem' in cert) return cert.problem;
  const key = readOrProblem(keyFile, 'key file');
  if ('problem' in key) return key.problem;
  if (!cert.text.includes('-----BEGIN CERTIFICATE-----')) return `${JSON.stringify(certFile)} holds no PEM certificate`;
  try {
    createSecureContext({ cert: cert.text, key: key.text });
  } catch (error) {
    const reason = (error as Error).message;
    if (/mismatch/i.test(reason)) return `the key in ${JSON.stringify(keyFile)} does not belong to the certificate in ${JSON.stringify(certFile)}`;
    return `cannot use ${JSON.stringify(certFile)} with ${JSON.stringify(keyFile)}: ${reason}`;
  }
  return undefined;
}

export function checkCiphers(ciphers: string): string | undefined {
  try {
    createSecureContext({ ciphers });
    return undefined;
  } catch (error) {
    return `not a usable OpenSSL cipher list: ${(error as Error).message}`;
  }
}

export function checkCaFile(caFile: string): string | undefined {
  const ca = readOrProblem(caFile, 'CA file');
  if ('problem' in ca) return ca.problem;
  try {
    createSecureContext({ ca: ca.text });
  } catch (error) {
    return `cannot use the CA file ${JSON.stringify(caFile)}: ${(error as Error).message}`;
  }
  return ca.text.includes('-----BEGIN CERTIFICATE-----') ? undefined : `${JSON.stringify(caFile)} holds no PEM certificate`;
}
