// One generation per valid config: the backends, the strategy and the data-path settings.
// A reload builds a new generation aside and swaps one reference; requests keep the one they started on.
import type { Balancer, Candidate, PickRequest } from '../balancer/balancer.ts';
import type { Backend } from './backend.ts';
import type { ProxySettings } from './settings.ts';

export interface EligibleSet {
  readonly eligible: readonly Backend[];
  readonly isPanic: boolean;
}

export class Generation {
  readonly id: number;
  readonly settings: ProxySettings;
  readonly backends: readonly Backend[];
  readonly #balancer: Balancer;
  readonly #computeEligible: (backends: readonly Backend[]) => EligibleSet;
  #eligible: EligibleSet | undefined;

  constructor(
    id: number,
    settings: ProxySettings,
    backends: readonly Backend[],
    balancer: Balancer,
    computeEligible: (backends: readonly Backend[]) => EligibleSet,
  ) {
    this.id = id;
    this.settings = settings;
    this.backends = backends;
    this.#balancer = balancer;
    this.#computeEligible = computeEligible;
  }

  /** Called when health, ejection, drain or weights change: the next pick recomputes the set. */
  invalidate(): void {
    this.#eligible = undefined;
  }

  get eligibleSet(): EligibleSet {
    this.#eligible ??= this.#computeEligible(this.backends);
    return this.#eligible;
  }

  pick(request: PickRequest): Backend | undefined {
    const { eligible } = this.eligibleSet;
    if (eligible.length === 0) return undefined;
    // Strategies see Candidates; the objects are our Backends.
    return this.#balancer.pick(request, eligible as readonly Candidate[]) as Backend | undefined;
  }

  /**
   * The service wrapper's re-pick: a retry must not go back to a backend already tried when
   * another exists. The strategy is asked again a few times; then the first untried eligible wins.
   */
  pickAvoiding(request: PickRequest, avoid: readonly Backend[]): Backend | undefined {
    if (avoid.length === 0) return this.pick(request);
    const { eligible } = this.eligibleSet;
    for (let i = 0; i < 3; i++) {
      const b = this.pick(request);
      if (b === undefined || !avoid.includes(b)) return b;
    }
    return eligible.find((b) => !avoid.includes(b)) ?? this.pick(request);
  }

  /**
   * pick with load shedding: a backend that is eligible, not in `avoid`, and has a free slot under
   * its concurrency limit; the slot is taken. Undefined when every candidate is full (the caller
   * queues or sheds). Without limiters this is pickAvoiding. A hashing strategy never spills to
   * another backend: its users expect affinity, so the request waits for its own backend (as
   * HAProxy's per-server queue does with a hash balance and maxconn).
   */
  pickWithCapacity(request: PickRequest, avoid: readonly Backend[]): Backend | undefined {
    const first = this.pickAvoiding(request, avoid);
    if (first === undefined || first.limiter === undefined) return first;
    // avoiding is a preference: with no other backend, the avoided one is still the one to use
    const mayUse = (b: Backend): boolean => !avoid.includes(b) || !this.hasOtherThan(avoid);
    if (mayUse(first) && first.limiter.tryAcquire()) return first;
    if (this.settings.needsHashKey) return undefined;
    for (const b of this.eligibleSet.eligible) {
      if (b !== first && mayUse(b) && b.limiter?.tryAcquire() !== false) return b;
    }
    return undefined;
  }

  /** Whether an eligible backend other than those in `avoid` exists. */
  hasOtherThan(avoid: readonly Backend[]): boolean {
    return this.eligibleSet.eligible.some((b) => !avoid.includes(b));
  }

  findBackend(name: string): Backend | undefined {
    return this.backends.find((b) => b.id === name);
  }
}
