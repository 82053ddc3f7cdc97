// route -> split: the first rule whose conditions all match picks a target (a pool, or a weighted
// split between pools); requests no rule matches go to the default pool. Compiled once per
// generation; matching allocates nothing unless a rule reads cookies.
import type { Flag } from './flags.ts';

export interface RouteSpec {
  readonly name?: string | undefined;
  readonly host?: string | undefined;
  readonly pathPrefix?: string | undefined;
  readonly methods?: readonly string[] | undefined;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly cookies: readonly { readonly name: string; readonly value: string }[];
  /** The route matches only when this flag is on for the request. */
  readonly flag?: string | undefined;
  readonly pool?: string | undefined;
  readonly split?: readonly { readonly pool: string; readonly weight: number }[] | undefined;
}

/** What a rule may read of a request. Header names are lower-case. */
export interface RouteRequest {
  readonly method: string;
  readonly host: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** For flags keyed by client IP. */
  readonly clientIp?: string | undefined;
}

export interface RouteChoice {
  /** The rule that matched, or "default". */
  readonly route: string;
  readonly pool: string;
}

interface CompiledRoute {
  readonly name: string;
  readonly matches: (r: RouteRequest, cookies: () => ReadonlyMap<string, string>) => boolean;
  /** Pools and their cumulative weights; one entry for a plain pool target. */
  readonly pools: readonly string[];
  readonly cumulative: readonly number[];
  readonly total: number;
}

/** The Host header without its port, lower-case. */
export function hostOf(hostHeader: string): string {
  const h = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0] ?? '';
  return h.toLowerCase();
}

/** The path of a request target: before "?", and the path of an absolute-form URL. */
export function pathOf(url: string): string {
  let path = url;
  if (!path.startsWith('/')) {
    const scheme = path.indexOf('://');
    const slash = scheme < 0 ? -1 : path.indexOf('/', scheme + 3);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const text = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== '' && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

function hostMatcher(pattern: string): (host: string) => boolean {
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return (host) => host.endsWith(suffix) && host.length > suffix.length;
  }
  return (host) => host === pattern;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function compile(spec: RouteSpec, index: number, flags: ReadonlyMap<string, Flag>): CompiledRoute {
  const checks: ((r: RouteRequest, cookies: () => ReadonlyMap<string, string>) => boolean)[] = [];
  if (spec.host !== undefined) {
    const isHost = hostMatcher(spec.host);
    checks.push((r) => isHost(hostOf(r.host)));
  }
  if (spec.pathPrefix !== undefined) {
    const prefix = spec.pathPrefix;
    checks.push((r) => pathOf(r.url).startsWith(prefix));
  }
  if (spec.methods !== undefined) {
    const methods = new Set(spec.methods);
    checks.push((r) => methods.has(r.method));
  }
  for (const h of spec.headers) {
    const name = h.name.toLowerCase();
    checks.push((r) => headerValue(r.headers[name]) === h.value);
  }
  for (const c of spec.cookies) checks.push((_r, cookies) => cookies().get(c.name) === c.value);
  if (spec.flag !== undefined) {
    // the config checked that the flag exists; an unknown one never matches
    const flag = flags.get(spec.flag);
    checks.push((r, cookies) => flag?.isOn(r, cookies) === true);
  }
  const legs = spec.split ?? [{ pool: spec.pool ?? '', weight: 1 }];
  const cumulative: number[] = [];
  let total = 0;
  for (const leg of legs) cumulative.push((total += leg.weight));
  return {
    name: spec.name ?? `route-${index}`,
    matches: (r, cookies) => checks.every((check) => check(r, cookies)),
    pools: legs.map((l) => l.pool),
    cumulative,
    total,
  };
}

/** Picks the leg whose cumulative weight first exceeds u x total (u uniform in [0, 1)). */
function chooseLeg(route: CompiledRoute, u: number): string {
  const x = u * route.total;
  for (let i = 0; i < route.cumulative.length; i++) if (x < (route.cumulative[i] ?? 0)) return route.pools[i] ?? '';
  return route.pools[route.pools.length - 1] ?? '';
}

export interface Router {
  readonly routeNames: readonly string[];
  /** `u` is a uniform random number in [0, 1), used only by splits. */
  choose(request: RouteRequest, u: number): RouteChoice;
}

export function createRouter(specs: readonly RouteSpec[], defaultPool: string, flags: ReadonlyMap<string, Flag> = new Map()): Router {
  const routes = specs.map((spec, i) => compile(spec, i, flags));
  const fallback: RouteChoice = { route: 'default', pool: defaultPool };
  return {
    routeNames: routes.map((r) => r.name),
    choose(request, u) {
      if (routes.length === 0) return fallback;
      let cookies: Map<string, string> | undefined;
      const readCookies = (): ReadonlyMap<string, string> => (cookies ??= parseCookies(request.headers.cookie));
      for (const route of routes) {
        if (route.matches(request, readCookies)) return { route: route.name, pool: route.pools.length === 1 ? (route.pools[0] ?? '') : chooseLeg(route, u) };
      }
      return fallback;
    },
  };
}
