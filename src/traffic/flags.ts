// Feature flags, pure: on for the requests of any segment (a header or cookie value), else for a
// sticky percentage of keys (a hash of the flag's name and the key, as experiments assign).
import { assignmentPoint } from './experiment.ts';

export interface FlagSpec {
  readonly name: string;
  readonly percent: number;
  readonly key: string;
  readonly segments: readonly { readonly header?: string | undefined; readonly cookie?: string | undefined; readonly value: string }[];
  readonly feature?: string | undefined;
}

/** What a flag may read of a request. Header names are lower-case. */
export interface FlagRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly clientIp?: string | undefined;
}

export interface Flag {
  readonly name: string;
  readonly feature: string | undefined;
  /** `cookies` parses the Cookie header lazily (shared with the route's own cookie rules). */
  isOn(request: FlagRequest, cookies: () => ReadonlyMap<string, string>): boolean;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function createFlag(spec: FlagSpec): Flag {
  const segments = spec.segments.map((s) =>
    s.header !== undefined
      ? (r: FlagRequest) => first(r.headers[s.header as string]) === s.value
      : (r: FlagRequest, cookies: () => ReadonlyMap<string, string>) => cookies().get(s.cookie ?? '') === s.value,
  );
  const keyOf: (r: FlagRequest, cookies: () => ReadonlyMap<string, string>) => string | undefined = spec.key.startsWith('header:')
    ? (r) => first(r.headers[spec.key.slice('header:'.length)])
    : spec.key.startsWith('cookie:')
      ? (_r, cookies) => cookies().get(spec.key.slice('cookie:'.length))
      : () => undefined;
  return {
    name: spec.name,
    feature: spec.feature,
    isOn(request, cookies) {
      if (segments.some((matches) => matches(request, cookies))) return true;
      if (spec.percent <= 0) return false;
      if (spec.percent >= 100) return true;
      const key = keyOf(request, cookies) ?? request.clientIp ?? '';
      return assignmentPoint(spec.name, key) * 100 < spec.percent;
    },
  };
}
