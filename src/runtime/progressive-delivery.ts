// Progressive delivery as the runtime holds it: the data path's traffic choice and the controllers
// that steer it (rollouts, blue-green, experiments), configured together from each generation's
// config and sharing one state store.
import type { Config } from '../config/schema.ts';
import type { Outcome } from '../core/outcome.ts';
import { BlueGreenController } from './blue-green-controller.ts';
import type { RuntimeDeps } from './deps.ts';
import { ExperimentController } from './experiment-controller.ts';
import type { Generation } from './generation.ts';
import { RolloutController } from './rollout-controller.ts';
import { ShadowController } from './shadow-mirror.ts';
import { createStateStore } from './state-file.ts';
import { TrafficControl } from './traffic-control.ts';

export class ProgressiveDelivery {
  /** route -> split on the data path. */
  readonly traffic: TrafficControl;
  /** Canary rollouts ([[rollouts]]): they set the traffic's diversions. */
  readonly rollouts: RolloutController;
  /** Blue-green pairs ([[blue_green]]): they set the traffic's redirects. */
  readonly blueGreen: BlueGreenController;
  /** A/B experiments ([[experiments]]): sticky variants and their tallies. */
  readonly experiments: ExperimentController;
  /** Shadow traffic ([[shadows]]): copies of a share of a pool's requests, compared. */
  readonly shadows: ShadowController;

  /** `generation` reads the generation in service (for smoke checks of its pools). */
  constructor(config: Config, deps: RuntimeDeps, generation: () => Generation) {
    const store = createStateStore(config.traffic.stateFile, deps);
    this.experiments = new ExperimentController(deps, store);
    this.traffic = new TrafficControl(deps.metrics, deps.rng, this.experiments);
    this.rollouts = new RolloutController(deps, this.traffic, store);
    this.blueGreen = new BlueGreenController(deps, this.traffic, store, generation);
    this.shadows = new ShadowController(deps);
  }

  configure(config: Config): void {
    this.rollouts.configure(config.rollouts);
    this.blueGreen.configure(config.blueGreen);
    this.experiments.configure(config.experiments);
    this.shadows.configure(config.shadows);
  }

  start(): void {
    this.rollouts.start();
  }

  stop(): Promise<void> {
    this.experiments.save();
    return this.rollouts.stop();
  }

  /** Brings the metrics counted in plain integers on the data path up to date. */
  publish(): void {
    this.traffic.publish();
    this.experiments.save();
  }

  /** The record phase of every attempt. */
  recordOutcome(pool: string, outcome: Outcome): void {
    this.rollouts.recordOutcome(pool, outcome);
  }
}
