// client key: who sent a request. A configured list of sources, first match wins:
// "header:<name>", "cookie:<name>", "ip", "ip_ua" (client IP + User-Agent, the fallback).
import { hash64Hex } from './key-hash.ts';

export type ClientKeySource = { kind: 'header'; name: string } | { kind: 'cookie'; name: string } | { kind: 'ip' } | { kind: 'ip_ua' };

export function parseClientKeySource(text: string): ClientKeySource | undefined {
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
