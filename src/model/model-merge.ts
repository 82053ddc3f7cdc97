// The retry model shared across instances: each instance learns locally, and on an interval sends
// what it learned since the last merge (the change of z and n per coordinate) to the shared store,
// which adds every instance's changes to one global state and answers it. FTRL's z and n are sums
// over examples, so adding the instances' changes approximates one learner that saw all their
// traffic (what averaging the weights would not: it divides each instance's learning by N).
// Pure: the caller does the I/O.
import type { RetryModel } from './retry-model.ts';

/** A sparse set of coordinates: index, z, n (absolute values or changes, as the field says). */
export interface Coordinates {
  readonly indices: number[];
  readonly z: number[];
  readonly n: number[];
}

export class ModelMerge {
  readonly #model: RetryModel;
  /** z and n as of the last merge (what the global state said then, plus nothing learned here). */
  readonly #baseZ: Float64Array;
  readonly #baseN: Float64Array;
  /** The changes in flight: sent, not yet answered. */
  #sent: Coordinates | undefined;

  constructor(model: RetryModel) {
    this.#model = model;
    this.#baseZ = Float64Array.from(model.state.z);
    this.#baseN = Float64Array.from(model.state.n);
  }

  /** What was learned here since the last merge; call applyGlobal() with the store's answer next. */
  takeChanges(): Coordinates {
    const { z, n } = this.#model.state;
    const out: Coordinates = { indices: [], z: [], n: [] };
    for (let i = 0; i < z.length; i++) {
      const dz = z[i]! - this.#baseZ[i]!;
      const dn = n[i]! - this.#baseN[i]!;
      if (dz === 0 && dn === 0) continue;
      out.indices.push(i);
      out.z.push(dz);
      out.n.push(dn);
    }
    this.#sent = out;
    return out;
  }

  /** Every coordinate of the model, for initialising an empty store. */
  everything(): Coordinates {
    const { z, n } = this.#model.state;
    const out: Coordinates = { indices: [], z: [], n: [] };
    for (let i = 0; i < n.length; i++) {
      if (n[i] === 0 && z[i] === 0) continue;
      out.indices.push(i);
      out.z.push(z[i]!);
      out.n.push(n[i]!);
    }
    this.#sent = { indices: [], z: [], n: [] };
    for (let i = 0; i < n.length; i++) {
      this.#baseZ[i] = z[i]!;
      this.#baseN[i] = n[i]!;
    }
    return out;
  }

  /**
   * The store's global state, which includes the changes sent. The model takes it, keeping what
   * it learned while the answer was on its way (that goes out with the next changes).
   */
  applyGlobal(global: Coordinates): void {
    const { z, n } = this.#model.state;
    const sent = new Map<number, number>();
    this.#sent?.indices.forEach((i, k) => sent.set(i, k));
    const outZ: number[] = [];
    const outN: number[] = [];
    global.indices.forEach((i, k) => {
      const s = sent.get(i);
      // learned here since the changes were taken
      const lateZ = z[i]! - this.#baseZ[i]! - (s === undefined ? 0 : this.#sent!.z[s]!);
      const lateN = n[i]! - this.#baseN[i]! - (s === undefined ? 0 : this.#sent!.n[s]!);
      this.#baseZ[i] = global.z[k]!;
      this.#baseN[i] = global.n[k]!;
      outZ.push(global.z[k]! + lateZ);
      outN.push(global.n[k]! + lateN);
    });
    this.#model.setCoordinates(global.indices, outZ, outN);
    this.#sent = undefined;
  }

  /** The store did not take the changes (unreachable): they go out again with the next ones. */
  keepChanges(): void {
    this.#sent = undefined;
  }
}
