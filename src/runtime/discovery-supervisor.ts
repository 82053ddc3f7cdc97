// Runs the configured Discovery on its schedule and keeps the last good backend set. The runtime
// builds each generation from `backendsFor(config)`; when a refresh changes the set, `onChange`
// asks it for a new generation, which reuses live backends by identity (health survives) and
// closes the pools of vanished ones once their in-flight requests are done (graceful drain).
import type { Config } from '../config/schema.ts';
import type { DiscoveryConfig } from '../config/schema-discovery.ts';
import { isSameBackendSet, sortBackends } from '../discovery/backend-list.ts';
import { createDiscovery } from '../discovery/create-discovery.ts';
import type { DiscoveredBackend, Discovery, DiscoveryResult } from '../discovery/discovery.ts';
import type { RuntimeDeps } from './deps.ts';

export interface DiscoveryStatus {
  readonly kind: DiscoveryConfig['kind'];
  readonly source: string | undefined;
  readonly backends: readonly DiscoveredBackend[];
  readonly lastSuccessIso: string | undefined;
  readonly lastFailure: { readonly atIso: string; readonly reason: 'failed' | 'empty'; readonly message: string } | undefined;
  readonly consecutiveFailures: number;
  readonly nextRefreshInMs: number | undefined;
}

/** When the next refresh is due after a result: the TTL within [min_ttl, max_ttl], else the interval. */
export function nextRefreshMs(config: DiscoveryConfig, result: DiscoveryResult): number {
  if (!result.ok || result.ttlMs === undefined || config.kind !== 'dns') return config.interval;
  return Math.min(config.maxTtl, Math.max(config.minTtl, result.ttlMs));
}

export class DiscoverySupervisor {
  readonly #deps: RuntimeDeps;
  readonly #onChange: () => void;
  #config: DiscoveryConfig | undefined;
  #signature = '';
  #discovery: Discovery | undefined;
  /** The last good set; undefined until the first successful refresh. */
  #current: readonly DiscoveredBackend[] | undefined;
  #lastSuccessIso: string | undefined;
  #lastFailure: DiscoveryStatus['lastFailure'];
  #consecutiveFailures = 0;
  #nextAtMs: number | undefined;
  /** Delay the last result asked for, kept for start() after a refresh made before it. */
  #nextDelayMs: number | undefined;
  #cancelTimer: (() => void) | undefined;
  #abort = new AbortController();
  #refreshing: Promise<void> | undefined;
  #isStarted = false;

  constructor(deps: RuntimeDeps, onChange: () => void) {
    this.#deps = deps;
    this.#onChange = onChange;
  }

  /** A changed [discovery] table restarts the schedule; the last good set serves until the new source answers. */
  configure(config: DiscoveryConfig): void {
    const signature = JSON.stringify(config);
    this.#config = config;
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#cancelTimer?.();
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#discovery = createDiscovery(config);
    this.#nextDelayMs = undefined;
    if (this.#discovery === undefined) this.#current = undefined;
    this.#consecutiveFailures = 0;
    this.#lastFailure = undefined;
    if (this.#isStarted) this.#schedule(0);
  }

  backendsFor(config: Config): readonly DiscoveredBackend[] {
    return this.#discovery === undefined ? config.backends : (this.#current ?? []);
  }

  start(): void {
    this.#isStarted = true;
    if (this.#discovery !== undefined && this.#cancelTimer === undefined) this.#schedule(this.#nextDelayMs ?? 0);
  }

  stop(): Promise<void> {
    this.#isStarted = false;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#abort.abort();
    return this.#refreshing ?? Promise.resolve();
  }

  /** One refresh now (at startup, before the listener opens). One at a time. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  get status(): DiscoveryStatus {
    return {
      kind: this.#config?.kind ?? 'static',
      source: this.#discovery?.source,
      backends: this.#current ?? [],
      lastSuccessIso: this.#lastSuccessIso,
      lastFailure: this.#lastFailure,
      consecutiveFailures: this.#consecutiveFailures,
      nextRefreshInMs: this.#nextAtMs === undefined ? undefined : Math.max(0, Math.round(this.#nextAtMs - this.#deps.clock.now())),
    };
  }

  #schedule(ms: number): void {
    this.#cancelTimer?.();
    this.#nextAtMs = this.#deps.clock.now() + ms;
    this.#cancelTimer = this.#deps.clock.setTimer(ms, () => {
      this.#cancelTimer = undefined;
      void this.refresh();
    });
  }

  async #refresh(): Promise<void> {
    const discovery = this.#discovery;
    const config = this.#config;
    if (discovery === undefined || config === undefined) return;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(config.timeout)]);
    const result = await discovery.discover(signal);
    // configured anew while resolving: this answer is for the old source; ask the new one
    if (discovery !== this.#discovery) {
      if (this.#isStarted && this.#cancelTimer === undefined) this.#schedule(0);
      return;
    }
    this.#apply(result);
    this.#nextDelayMs = nextRefreshMs(config, result);
    if (this.#isStarted && this.#cancelTimer === undefined) this.#schedule(this.#nextDelayMs);
  }

  #apply(result: DiscoveryResult): void {
    const m = this.#deps.metrics;
    const source = this.#discovery?.source;
    if (!result.ok) {
      this.#consecutiveFailures++;
      this.#lastFailure = { atIso: new Date().toISOString(), reason: result.reason, message: result.message };
      m.discoveryRefreshes.inc({ result: result.reason });
      m.discoveryConsecutiveFailures.set(this.#consecutiveFailures);
      this.#deps.logger.warn({ source, reason: result.reason, error: result.message, backends: this.#current?.length ?? 0 }, 'discovery refresh failed; the last good backend set stays in service');
      return;
    }
    this.#consecutiveFailures = 0;
    this.#lastSuccessIso = new Date().toISOString();
    m.discoveryConsecutiveFailures.set(0);
    m.discoveryLastSuccess.set(Date.now() / 1000);
    m.discoveryBackends.set(result.backends.length);
    if (this.#current !== undefined && isSameBackendSet(this.#current, result.backends)) {
      m.discoveryRefreshes.inc({ result: 'unchanged' });
      return;
    }
    const before = new Set((this.#current ?? []).map((b) => b.address));
    const after = new Set(result.backends.map((b) => b.address));
    this.#current = sortBackends(result.backends);
    m.discoveryRefreshes.inc({ result: 'changed' });
    this.#deps.logger.info({ source, added: [...after].filter((a) => !before.has(a)), removed: [...before].filter((a) => !after.has(a)) }, 'discovery: backend set changed');
    this.#onChange();
  }
}
