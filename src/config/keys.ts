// The one mechanical mapping between TOML keys (snake_case) and TypeScript properties (camelCase).
// `_` + letter <-> uppercase letter: `listen_address` <-> `listenAddress`. A digit run between two
// words joins the word before it in camelCase: `consecutive_5xx` <-> `consecutive5xx`. Any other
// underscore before digits stays (`http_2` <-> `http_2`), and digits inside a word stay (`ipv6_only`
// <-> `ipv6Only`). A TOML key is accepted only when the mapping round-trips it.

const SNAKE_KEY = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

export function snakeToCamel(key: string): string {
  return key.replace(/_(\d+)(?=[a-z])/g, '$1').replace(/_([a-z])/g, (_match, c: string) => c.toUpperCase());
}

export function camelToSnake(key: string): string {
  return key.replace(/([a-z])(\d+)(?=[a-z])/g, '$1_$2').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** True when `key` is written the way the mapping expects, so errors can name it back exactly. */
export function isSnakeKey(key: string): boolean {
  return SNAKE_KEY.test(key) && camelToSnake(snakeToCamel(key)) === key;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

/** A key path as operators read it: `backends[1].address` (snake_case, array indexes in brackets). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += (out === '' ? '' : '.') + camelToSnake(String(segment));
  }
  return out;
}

/** A key left out because it is not snake_case; `parent` is the (camelCase) path of its table. */
export interface RejectedKey {
  parent: PropertyKey[];
  key: string;
}

/** The snake_case spelling a non-snake key was probably meant as: `outlier-detection` -> `outlier_detection`. */
export function toSnakeSpelling(key: string): string {
  return camelToSnake(key).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/**
 * Copies a TOML document with every table key in camelCase. A key the mapping cannot round-trip
 * (camelCase, uppercase, dashes, `consecutive5xx` for `consecutive_5xx`) is left out and returned, so
 * that the camelCase spelling of a key is never accepted in TOML by accident.
 */
export function keysToCamel(value: unknown): { value: unknown; rejected: RejectedKey[] } {
  const rejected: RejectedKey[] = [];
  const convert = (node: unknown, path: PropertyKey[]): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => convert(item, [...path, i]));
    if (!isPlainObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (!isSnakeKey(key)) {
        rejected.push({ parent: path, key });
        continue;
      }
      const camel = snakeToCamel(key);
      out[camel] = convert(child, [...path, camel]);
    }
    return out;
  };
  return { value: convert(value, []), rejected };
}
