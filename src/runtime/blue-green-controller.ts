// Blue-green pairs: which side serves, switched atomically by config or the admin API, after an
// optional smoke check of the new side's backends; the side survives restarts in the state file.
import { request } from 'undici';
import type { BlueGreenConfig } from '../config/schema.ts';
import { otherSide, redirectsOf, resolveActive, type BlueGreenSpec, type Side } from '../traffic/blue-green.ts';
import type { RuntimeDeps } from './deps.ts';
import type { Generation } from './generation.ts';
import type { StateStore } from './state-file.ts';
import type { TrafficControl } from './traffic-control.ts';
import { refused, type Refused } from './command-result.ts';

const SECTION = 'blueGreen';

interface LivePair {
  spec: BlueGreenSpec;
  smokePath: string | undefined;
  smokeTimeoutMs: number;
  active: Side;
  lastSwitch: { atIso: string; from: Side; to: Side; by: 'config' | 'admin' } | undefined;
}

export interface SmokeResult {
  readonly backend: string;
  readonly ok: boolean;
  readonly detail: string;
}

export type SwitchResult =
  | { ok: true; pair: ReturnType<BlueGreenController['view']>; smoke: readonly SmokeResult[] }
  | (Refused & { smoke?: readonly SmokeResult[] });

export class BlueGreenController {
  readonly #deps: RuntimeDeps;
  readonly #traffic: TrafficControl;
  readonly #store: StateStore;
  readonly #generation: () => Generation;
  readonly #pairs = new Map<string, LivePair>();

  constructor(deps: RuntimeDeps, traffic: TrafficControl, store: StateStore, generation: () => Generation) {
    this.#deps = deps;
    this.#traffic = traffic;
    this.#store = store;
    this.#generation = generation;
  }

  configure(configs: readonly BlueGreenConfig[]): void {
    const saved = (this.#store.read(SECTION) ?? {}) as Record<string, unknown>;
    const names = new Set(configs.map((c) => c.name));
    for (const name of this.#pairs.keys()) {
      if (names.has(name)) continue;
      this.#pairs.delete(name);
      for (const side of ['blue', 'green'] as const) this.#deps.metrics.blueGreenActive.remove({ name, side });
    }
    for (const c of configs) {
      const spec: BlueGreenSpec = { name: c.name, blue: c.blue, green: c.green, active: c.active };
      const live = this.#pairs.get(c.name);
      const previous = live?.spec.blue === spec.blue && live.spec.green === spec.green ? live : undefined;
      // in memory (a reload) or from the file (a restart): kept until the config names another side
      const active = resolveActive(spec, previous === undefined ? saved[c.name] : { active: previous.active, configActive: previous.spec.active });
      const pair: LivePair = { spec, smokePath: c.smokePath, smokeTimeoutMs: c.smokeTimeout, active, lastSwitch: previous?.lastSwitch };
      if (previous !== undefined && previous.active !== active) {
        pair.lastSwitch = { atIso: new Date().toISOString(), from: previous.active, to: active, by: 'config' };
        this.#deps.logger.info({ blueGreen: c.name, from: previous.active, to: active, pool: spec[active] }, `blue-green ${c.name}: switched to ${active} by the config`);
        this.#deps.metrics.blueGreenSwitches.inc({ name: c.name, result: 'switched' });
      }
      this.#pairs.set(c.name, pair);
    }
    this.#publish();
  }

  views() {
    return [...this.#pairs.values()].map((p) => this.view(p));
  }

  find(name: string) {
    const pair = this.#pairs.get(name);
    return pair === undefined ? undefined : this.view(pair);
  }

  view(p: LivePair) {
    return { name: p.spec.name, blue: p.spec.blue, green: p.spec.green, active: p.active, activePool: p.spec[p.active], smokePath: p.smokePath, lastSwitch: p.lastSwitch };
  }

  /**
   * Switches to `to` (the other side when undefined). With a smoke path, every eligible backend of
   * the new side must answer it first, unless `skipSmoke` (the instant switch back).
   */
  async switchTo(name: string, to: Side | undefined, skipSmoke: boolean): Promise<SwitchResult> {
    const pair = this.#pairs.get(name);
    if (pair === undefined) return refused('unknown-blue-green', `no blue-green pair named ${JSON.stringify(name)}`);
    const target = to ?? otherSide(pair.active);
    if (target === pair.active) return { ok: true, pair: this.view(pair), smoke: [] };
    let smoke: SmokeResult[] = [];
    if (pair.smokePath !== undefined && !skipSmoke) {
      smoke = await this.#smoke(pair.spec[target], pair.smokePath, pair.smokeTimeoutMs);
      if (smoke.length === 0 || smoke.some((s) => !s.ok)) {
        this.#deps.metrics.blueGreenSwitches.inc({ name, result: 'smoke_failed' });
        this.#deps.logger.warn({ blueGreen: name, to: target, smoke }, `blue-green ${name}: smoke check of ${target} failed; no switch`);
        const message = smoke.length === 0 ? `the ${target} pool has no eligible backend` : `smoke check of ${target} failed`;
        return { ...refused('smoke-failed', message), smoke };
      }
    }
    // the pair may have been reconfigured while the smoke check ran
    const current = this.#pairs.get(name);
    if (current === undefined) return refused('unknown-blue-green', `no blue-green pair named ${JSON.stringify(name)}`);
    current.lastSwitch = { atIso: new Date().toISOString(), from: current.active, to: target, by: 'admin' };
    current.active = target;
    this.#deps.metrics.blueGreenSwitches.inc({ name, result: 'switched' });
    this.#deps.logger.info({ blueGreen: name, from: otherSide(target), to: target, pool: current.spec[target] }, `blue-green ${name}: switched to ${target}`);
    this.#publish();
    return { ok: true, pair: this.view(current), smoke };
  }

  async #smoke(poolName: string, path: string, timeoutMs: number): Promise<SmokeResult[]> {
    const pool = this.#generation().pool(poolName);
    const backends = pool?.eligibleSet.eligible ?? [];
    return Promise.all(
      backends.map(async (b): Promise<SmokeResult> => {
        try {
          const res = await request(`http://${b.address}${path}`, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'sibyl-smoke-check' } });
          await res.body.dump();
          const ok = res.statusCode >= 200 && res.statusCode < 400;
          return { backend: b.id, ok, detail: `status ${res.statusCode}` };
        } catch (err) {
          return { backend: b.id, ok: false, detail: (err as Error).message };
        }
      }),
    );
  }

  #publish(): void {
    const pairs = [...this.#pairs.values()];
    this.#traffic.setRedirects(redirectsOf(pairs));
    for (const p of pairs) for (const side of ['blue', 'green'] as const) this.#deps.metrics.blueGreenActive.set({ name: p.spec.name, side }, side === p.active ? 1 : 0);
    this.#store.write(SECTION, Object.fromEntries(pairs.map((p) => [p.spec.name, { active: p.active, configActive: p.spec.active }])));
  }
}
