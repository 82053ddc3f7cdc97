// The simulator's agenda: a binary min-heap of timed events. Ties are broken by a rank (so a
// response that ends at the same instant as an arrival frees its backend first) and then by
// insertion order, which keeps a run deterministic.

export interface Timed {
  readonly atMs: number;
  readonly rank: number;
}

interface Slot<T> {
  readonly item: T;
  readonly seq: number;
}

export class EventQueue<T extends Timed> {
  readonly #heap: Slot<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(item: T): void {
    const heap = this.#heap;
    heap.push({ item, seq: this.#seq++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(l, m)) m = l;
        if (r < heap.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top.item;
  }

  #less(a: number, b: number): boolean {
    const x = this.#heap[a] as Slot<T>;
    const y = this.#heap[b] as Slot<T>;
    return x.item.atMs !== y.item.atMs ? x.item.atMs < y.item.atMs : x.item.rank !== y.item.rank ? x.item.rank < y.item.rank : x.seq < y.seq;
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const t = heap[a] as Slot<T>;
    heap[a] = heap[b] as Slot<T>;
    heap[b] = t;
  }
}
