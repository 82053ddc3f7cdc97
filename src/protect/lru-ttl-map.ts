// A bounded map for per-key limiter state: least recently used first out, and entries idle longer
// than the TTL forgotten. Map iteration order is insertion order, so touching an entry re-inserts
// it and the oldest entry is always first: eviction is O(1) per entry.

export interface LruTtlOptions {
  readonly maxEntries: number;
  readonly ttlMs: number;
  /** Called for every entry pushed out by size or age (not for delete or clear). */
  readonly onEvict?: (reason: 'size' | 'ttl') => void;
}

interface Entry<V> {
  value: V;
  touchedAtMs: number;
}

export class LruTtlMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #options: LruTtlOptions;

  constructor(options: LruTtlOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, marked as just used; undefined when absent or expired. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (nowMs - entry.touchedAtMs > this.#options.ttlMs) {
      this.#options.onEvict?.('ttl');
      return undefined;
    }
    entry.touchedAtMs = nowMs;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** The value without marking it used (expired or not); undefined when absent. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: V, nowMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, touchedAtMs: nowMs });
    this.evictExpired(nowMs);
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#options.onEvict?.('size');
    }
  }

  /** Drops the entries idle longer than the TTL (the oldest are first, so it stops at the first young one). */
  evictExpired(nowMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (nowMs - entry.touchedAtMs <= this.#options.ttlMs) break;
      this.#entries.delete(key);
      this.#options.onEvict?.('ttl');
    }
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [key, entry] of this.#entries) yield [key, entry.value];
  }
}
