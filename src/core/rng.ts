// Randomness is injected: strategies and simulations are deterministic per seed.
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export const mathRng: Rng = { next: () => Math.random() };

/** mulberry32: tiny, fast, good enough for load balancing and simulation. */
export function createSeededRng(seed: number): Rng {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
