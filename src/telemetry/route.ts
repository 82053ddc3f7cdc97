// route: the path with ids folded (/api/users/42 -> /api/users/:id), at most three segments, so
// that the model generalises across resources instead of memorising URLs.
const ID_SEGMENT = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[A-Za-z0-9_-]{24,})$/i;
const MAX_SEGMENTS = 3;

export function routeOf(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const segments = path.split('/').filter((s) => s !== '');
  let out = '';
  for (let i = 0; i < segments.length && i < MAX_SEGMENTS; i++) {
    const s = segments[i] as string;
    out += ID_SEGMENT.test(s) ? '/:id' : `/${s}`;
  }
  if (segments.length > MAX_SEGMENTS) out += '/*';
  return out === '' ? '/' : out;
}
