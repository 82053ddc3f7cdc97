// Retry budget (Finagle/Linkerd style): every request deposits `ratio` tokens, every retry
// withdraws one, and a floor of `minRetriesPerSecond` is always allowed, so that retries stay
// below ~ratio of the traffic under failure instead of multiplying it. Tokens expire after
// `ttlMs`, so an idle minute does not bank a retry storm. Pure: time is passed in.
export interface RetryBudgetOptions {
  /** Retries allowed per request (0.2 = at most ~20 % extra load). */
  readonly ratio: number;
  /** Retries always allowed per second, so that low traffic can still retry. */
  readonly minRetriesPerSecond: number;
  /** How long a deposit stays usable. */
  readonly ttlMs: number;
}

const SLOTS = 10;

export class RetryBudget {
  readonly #ratio: number;
  readonly #floorPerMs: number;
  readonly #slotMs: number;
  /** Deposits per time slot (a ring over ttlMs), and withdrawals spent against them. */
  readonly #deposits = new Float64Array(SLOTS);
  #slotStart = 0;
  #slotIndex = 0;
  #withdrawn = 0;
  #floorTokens: number;
  #lastFloorMs = Number.NaN;
  readonly #floorCap: number;

  constructor(options: RetryBudgetOptions) {
    this.#ratio = options.ratio;
    this.#floorPerMs = options.minRetriesPerSecond / 1000;
    this.#slotMs = options.ttlMs / SLOTS;
    this.#floorCap = options.minRetriesPerSecond;
    this.#floorTokens = options.minRetriesPerSecond;
  }

  /** One request was sent (first attempts only). */
  deposit(now: number): void {
    this.#advance(now);
    this.#deposits[this.#slotIndex] = (this.#deposits[this.#slotIndex] as number) + this.#ratio;
  }

  /** True, and one token spent, when a retry may be made now. */
  tryWithdraw(now: number): boolean {
    this.#advance(now);
    this.#refillFloor(now);
    if (this.#balance() >= 1) {
      this.#withdrawn += 1;
      return true;
    }
    if (this.#floorTokens >= 1) {
      this.#floorTokens -= 1;
      return true;
    }
    return false;
  }

  /** Tokens available now (for metrics and tests). */
  available(now: number): number {
    this.#advance(now);
    this.#refillFloor(now);
    return Math.max(0, this.#balance()) + Math.floor(this.#floorTokens);
  }

  #balance(): number {
    let sum = 0;
    for (let i = 0; i < SLOTS; i++) sum += this.#deposits[i] as number;
    return sum - this.#withdrawn;
  }

  #refillFloor(now: number): void {
    if (!Number.isNaN(this.#lastFloorMs)) this.#floorTokens = Math.min(this.#floorCap, this.#floorTokens + (now - this.#lastFloorMs) * this.#floorPerMs);
    this.#lastFloorMs = now;
  }

  /** Expires slots older than ttl; withdrawals are charged against the oldest deposits first. */
  #advance(now: number): void {
    if (this.#slotStart === 0 && this.#balance() === 0) this.#slotStart = now;
    while (now - this.#slotStart >= this.#slotMs) {
      this.#slotStart += this.#slotMs;
      this.#slotIndex = (this.#slotIndex + 1) % SLOTS;
      const expiring = this.#deposits[this.#slotIndex] as number;
      // what was withdrawn used the oldest tokens first: they leave with the expiring slot
      const used = Math.min(expiring, this.#withdrawn);
      this.#withdrawn -= used;
      this.#deposits[this.#slotIndex] = 0;
      if (now - this.#slotStart > this.#slotMs * SLOTS) {
        // a long idle gap: everything expired
        this.#deposits.fill(0);
        this.#withdrawn = 0;
        this.#slotStart = now;
      }
    }
  }
}
