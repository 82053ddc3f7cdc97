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
  /** The answer for each leg, built once: choosing allocates nothing. */
  readonly choices: readonly RouteChoice[];
  readonly cumulative: readonly number[];
  readonly total: number;
}

/** The Host header without its port, lower-case. */
export function hostOf(hostHeader: string): string {
  const end = hostHeader.startsWith('[') ? hostHeader.indexOf(']') + 1 : hostHeader.indexOf(':');
  return (end <= 0 ? hostHeader : hostHeader.slice(0, end)).toLowerCase();
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
    // an origin-form URL (nearly all) starts with its path, and a prefix holds no "?" (the schema)
    checks.push((r) => (r.url.startsWith('/') ? r.url.startsWith(prefix) : pathOf(r.url).startsWith(prefix)));
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
    matches(r, cookies) {
      for (const check of checks) if (!check(r, cookies)) return false;
      return true;
    },
    pools: legs.map((l) => l.pool),
    choices: legs.map((l) => ({ route: spec.name ?? `route-${index}`, pool: l.pool })),
    cumulative,
    total,
  };
}

/** Picks the leg whose cumulative weight first exceeds u x total (u uniform in [0, 1)). */
function chooseLeg(route: CompiledRoute, u: number): RouteChoice {
  const x = u * route.total;
  let i = 0;
  while (i < route.cumulative.length - 1 && x >= (route.cumulative[i] ?? 0)) i++;
  return route.choices[i] as RouteChoice;
}

export interface Router {
  readonly routeNames: readonly string[];
  /** The choice for requests no rule matches; what every request gets when there are no rules. */
  readonly fallback: RouteChoice;
  /** `u` is a uniform random number in [0, 1), used only by splits. */
  choose(request: RouteRequest, u: number): RouteChoice;
}

export function createRouter(specs: readonly RouteSpec[], defaultPool: string, flags: ReadonlyMap<string, Flag> = new Map()): Router {
  const routes = specs.map((spec, i) => compile(spec, i, flags));
  const fallback: RouteChoice = { route: 'default', pool: defaultPool };
  return {
    routeNames: routes.map((r) => r.name),
    fallback,
    choose(request, u) {
      if (routes.length === 0) return fallback;
      let cookies: Map<string, string> | undefined;
      const readCookies = (): ReadonlyMap<string, string> => (cookies ??= parseCookies(request.headers.cookie));
      for (const route of routes) {
        if (route.matches(request, readCookies)) return route.choices.length === 1 ? (route.choices[0] as RouteChoice) : chooseLeg(route, u);
      }
      return fallback;
    },
  };
}
