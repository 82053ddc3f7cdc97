// What a rate limit counts by: the client IP, a request header, the client key (Sibyl's notion of
// who sent a request, see telemetry), or the route as a whole (one bucket for every request the
// limit matches). A request without the header is not counted by a header-keyed limit, as NGINX
// does with an empty limit_req key.

export type RateLimitKey = { kind: 'client_ip' } | { kind: 'header'; name: string } | { kind: 'client_key' } | { kind: 'route' };

export function parseRateLimitKey(text: string): RateLimitKey | undefined {
  if (text === 'client_ip' || text === 'client_key' || text === 'route') return { kind: text };
  const m = /^header:([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/.exec(text);
  return m === null ? undefined : { kind: 'header', name: (m[1] as string).toLowerCase() };
}

export interface RateLimitRequest {
  readonly clientIp: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Computed only when a client_key limit asks for it. */
  readonly clientKey: () => string;
}

export function rateLimitKeyOf(key: RateLimitKey, req: RateLimitRequest): string | undefined {
  switch (key.kind) {
    case 'client_ip':
      return req.clientIp;
    case 'client_key':
      return req.clientKey();
    case 'route':
      return '';
    case 'header': {
      const v = req.headers[key.name];
      const value = Array.isArray(v) ? v[0] : v;
      return value === undefined || value === '' ? undefined : value;
    }
  }
}

/** Whether the request path is under the prefix at a segment boundary ("/api" matches /api and /api/x, not /apix). */
export function isUnderPrefix(url: string, prefix: string): boolean {
  if (prefix === '/') return true;
  if (!url.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || url.length === prefix.length) return true;
  const next = url.charCodeAt(prefix.length);
  return next === 47 /* / */ || next === 63 /* ? */;
}
