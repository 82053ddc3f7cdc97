// One named pool of a generation: its backends, its strategy and its eligible set. The pick step
// runs on the pool that route and split chose; a retry stays in that pool.
import { serviceLatencyMs } from '../protect/patience.ts';
import type { Balancer, Candidate, PickRequest } from '../balancer/balancer.ts';
import type { Backend } from './backend.ts';

export interface EligibleSet {
  readonly eligible: readonly Backend[];
  readonly isPanic: boolean;
}

export interface PoolOptions {
  readonly name: string;
  readonly backends: readonly Backend[];
  readonly balancer: Balancer;
  readonly computeEligible: (backends: readonly Backend[]) => EligibleSet;
  /** The pool's strategy hashes a key (ip_hash): never spill to another backend. */
  readonly needsHashKey: boolean;
  /** Undefined: hash by client IP; else the lower-case header whose value is the hash key. */
  readonly hashHeader: string | undefined;
}

export class Pool {
  readonly name: string;
  readonly backends: readonly Backend[];
  readonly needsHashKey: boolean;
  readonly hashHeader: string | undefined;
  readonly #balancer: Balancer;
  readonly #computeEligible: (backends: readonly Backend[]) => EligibleSet;
  #eligible: EligibleSet | undefined;

  constructor(options: PoolOptions) {
    this.name = options.name;
    this.backends = options.backends;
    this.needsHashKey = options.needsHashKey;
    this.hashHeader = options.hashHeader;
    this.#balancer = options.balancer;
    this.#computeEligible = options.computeEligible;
  }

  /** Called when health, ejection, drain or weights change: the next pick recomputes the set. */
  invalidate(): void {
    this.#eligible = undefined;
  }

  get eligibleSet(): EligibleSet {
    this.#eligible ??= this.#computeEligible(this.backends);
    return this.#eligible;
  }

  /** The latency a queued request can hope for: the fastest eligible backend's service latency (0 before any sample). */
  get fastestLatencyMs(): number {
    let fastest = Number.POSITIVE_INFINITY;
    for (const b of this.eligibleSet.eligible) fastest = Math.min(fastest, serviceLatencyMs(b));
    return Number.isFinite(fastest) ? fastest : 0;
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
    if (this.needsHashKey) return undefined;
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
