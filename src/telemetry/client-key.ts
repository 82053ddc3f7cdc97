// client key: who sent a request. A configured list of sources, first match wins:
// "credential" (Authorization or X-Api-Key), "header:<name>", "cookie:<name>", "ip", "ip_ua"
// (client IP + User-Agent, also the fallback). Always hashed with the salt, never kept raw.
import { hash64Hex } from './key-hash.ts';

export type ClientKeySource = { kind: 'credential' } | { kind: 'header'; name: string } | { kind: 'cookie'; name: string } | { kind: 'ip' } | { kind: 'ip_ua' };

/**
 * The stable part of a credential. Some schemes sign every request, so their Authorization value
 * changes from one attempt to the next: AWS SigV4 (the access key id is the identity) and HTTP
 * Digest (the username is). Other schemes (Bearer, Basic, ...) are their whole value.
 */
export function credentialIdentity(authorization: string): string {
  const sigV4 = /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\//i.exec(authorization);
  if (sigV4 !== null) return `aws4:${sigV4[1]}`;
  const digest = /^Digest\s.*?\busername="([^"]*)"/i.exec(authorization);
  if (digest !== null) return `digest:${digest[1]}`;
  return authorization.trim();
}

function credentialOf(headers: ClientKeyRequest['headers']): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth !== '') return credentialIdentity(auth);
  const apiKey = headers['x-api-key'];
  const key = Array.isArray(apiKey) ? apiKey[0] : apiKey;
  return key === undefined || key === '' ? undefined : `api-key:${key}`;
}

export function parseClientKeySource(text: string): ClientKeySource | undefined {
  if (text === 'credential') return { kind: 'credential' };
  if (text === 'ip') return { kind: 'ip' };
  if (text === 'ip_ua') return { kind: 'ip_ua' };
  const m = /^(header|cookie):([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/.exec(text);
  if (m === null) return undefined;
  return { kind: m[1] as 'header' | 'cookie', name: m[1] === 'header' ? (m[2] as string).toLowerCase() : (m[2] as string) };
}

export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface ClientKeyRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly clientIp: string;
}

export function createClientKeyFn(sources: readonly ClientKeySource[], salt: string): (req: ClientKeyRequest) => string {
  return (req) => {
    for (const source of sources) {
      let raw: string | undefined;
      switch (source.kind) {
        case 'credential':
          raw = credentialOf(req.headers);
          break;
        case 'header': {
          const v = req.headers[source.name];
          raw = Array.isArray(v) ? v[0] : v;
          break;
        }
        case 'cookie':
          raw = cookieValue(req.headers.cookie as string | undefined, source.name);
          break;
        case 'ip':
          raw = req.clientIp;
          break;
        case 'ip_ua':
          raw = `${req.clientIp}\u0000${String(req.headers['user-agent'] ?? '')}`;
          break;
      }
      if (raw !== undefined && raw !== '') return hash64Hex(`${salt}\u0000${source.kind}\u0000${raw}`);
    }
    // nothing matched: fall back to IP + User-Agent so that every request has a client key
    return hash64Hex(`${salt}\u0000ip_ua\u0000${req.clientIp}\u0000${String(req.headers['user-agent'] ?? '')}`);
  };
}
