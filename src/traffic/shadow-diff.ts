// Shadow comparison, pure: a response reduced to status, headers and a body fingerprint (JSON with
// ignored fields removed and keys sorted, so field order and volatile fields do not count), and the
// differences between the primary's and the shadow's.

export interface ResponseDigest {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Hash of the normalised body; undefined when the body was over the kept size. */
  readonly bodyHash: string | undefined;
}

export type DiffKind = 'status' | 'headers' | 'body';

export interface ResponseDiff {
  readonly kinds: readonly DiffKind[];
  readonly headers: readonly { readonly name: string; readonly primary: string | undefined; readonly shadow: string | undefined }[];
}

function removeFields(value: unknown, paths: readonly string[][], anywhere: ReadonlySet<string>, at: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => removeFields(v, paths, anywhere, at));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const path = [...at, key];
    if (anywhere.has(key) || paths.some((p) => p.length === path.length && p.every((s, i) => s === path[i]))) continue;
    out[key] = removeFields((value as Record<string, unknown>)[key], paths, anywhere, path);
  }
  return out;
}

/**
 * The body as compared: JSON (by content type, or text that parses as JSON) without the ignored
 * fields and with its keys sorted; anything else as is.
 */
export function normaliseBody(text: string, contentType: string | undefined, ignoreFields: readonly string[]): string {
  const looksJson = (contentType ?? '').includes('json') || /^\s*[[{]/.test(text);
  if (!looksJson) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const anywhere = new Set(ignoreFields.filter((f) => !f.includes('.')));
  const paths = ignoreFields.filter((f) => f.includes('.')).map((f) => f.split('.'));
  return JSON.stringify(removeFields(parsed, paths, anywhere, []));
}

/** Per-connection headers (RFC 9110 7.6.1): they say how the bytes travelled, not what was answered. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export function compareResponses(primary: ResponseDigest, shadow: ResponseDigest, ignoreHeaders: ReadonlySet<string>): ResponseDiff {
  const kinds: DiffKind[] = [];
  if (primary.status !== shadow.status) kinds.push('status');
  const headers: ResponseDiff['headers'][number][] = [];
  const names = new Set([...Object.keys(primary.headers), ...Object.keys(shadow.headers)]);
  for (const name of [...names].sort()) {
    if (ignoreHeaders.has(name) || HOP_BY_HOP.has(name)) continue;
    const p = primary.headers[name];
    const s = shadow.headers[name];
    if (p !== s) headers.push({ name, primary: p, shadow: s });
  }
  if (headers.length > 0) kinds.push('headers');
  // a body over the kept size is not compared: its status and headers still are
  if (primary.bodyHash !== undefined && shadow.bodyHash !== undefined && primary.bodyHash !== shadow.bodyHash) kinds.push('body');
  return { kinds, headers };
}
