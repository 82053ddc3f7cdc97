// A bounded ring of recent events; the oldest is evicted (and reported) when full.
export class EventRing<T> {
  #capacity: number;
  readonly #onEvict: () => void;
  #items: T[] = [];

  constructor(capacity: number, onEvict: () => void) {
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#capacity) {
      this.#items.shift();
      this.#onEvict();
    }
  }

  /** A new capacity (a reload); shrinking evicts the oldest, each reported. */
  resize(capacity: number): void {
    this.#capacity = capacity;
    while (this.#items.length > capacity) {
      this.#items.shift();
      this.#onEvict();
    }
  }

  /** Newest first. */
  recent(limit = this.#capacity): T[] {
    return this.#items.slice(-limit).reverse();
  }
}
