// Retry intelligence in the running process: every attempt is fingerprinted at accept (attempt
// number known before the pick), recorded at the end with the model's prediction, labelled after
// the retry window, and learned from off the data path. See docs/retry-prediction.md.
import type { Config } from '../config/schema.ts';
import { createFamilyCalibration } from '../model/family-calibration.ts';
import { createModelQuality, type ModelQuality } from '../model/online-quality.ts';
import { OnlineLearner } from '../model/learner.ts';
import type { FeatureInput } from '../model/features.ts';
import type { PromotedCandidate } from '../model/model-snapshot.ts';
import type { RetryModel } from '../model/retry-model.ts';
import { writeSnapshotFile } from '../model/model-store.ts';
import { hasKnownLabel, type AttemptEvent, type RecordedEvent } from '../telemetry/attempt-event.ts';
import { ClientProfiles, historySlotOf, responseClassOf, type HistorySlot } from '../telemetry/client-profile.ts';
import { createClientKeyFn, parseClientKeySource, type ClientKeySource } from '../telemetry/client-key.ts';
import { fingerprintOf, type BodyIdentity } from '../telemetry/fingerprint.ts';
import { NdjsonSink } from '../telemetry/ndjson-sink.ts';
import { isClientVisibleFailure, mayBeRetried } from '../core/outcome.ts';
import { RetryLabeller, type PendingEvent, type Ticket } from '../telemetry/retry-labeller.ts';
import { RetryDelayEstimate } from '../telemetry/retry-delay.ts';
import { markedAttemptOf } from '../telemetry/retry-markers.ts';
import { routeOf } from '../telemetry/route.ts';
import { userAgentFamily } from '../telemetry/user-agent.ts';
import type { RuntimeDeps } from './deps.ts';
import type { ModelCandidate } from './model-candidate.ts';

const SWEEP_INTERVAL_MS = 1000;
const CLIENT_PROFILE_HALF_LIFE_MS = 10 * 60_000;
const ATTEMPT_LABELS = ['1', '2', '3', '4+'] as const;

export interface AttemptStart {
  readonly clientKey: string;
  readonly fingerprint: string;
  readonly ticket: Ticket;
  readonly route: string;
  readonly userAgentFamily: string;
  readonly startedAtMs: number;
}

export interface RequestFacts {
  readonly method: string;
  readonly host: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly clientIp: string;
  /** The body's part of the fingerprint (telemetry/fingerprint.ts). */
  readonly body: BodyIdentity;
}

/** Client retries and repeats as recognised at accept; the runtime's tally, read by gauges and the storm detector. */
export interface RetryTally {
  clientRetries: number;
  clientRepeats: number;
}

/** What the record phase knows about the attempt, in the event's own words. */
export type AttemptEnd = Pick<
  AttemptEvent,
  'requestId' | 'method' | 'backend' | 'status' | 'errorKind' | 'latencyMs' | 'bytesIn' | 'bytesOut' | 'retryAfterSec' | 'backendLatencyEwmaMs' | 'backendErrorEwma' | 'backendInFlight'
>;

export class RetryIntelligence {
  readonly #deps: RuntimeDeps;
  /** Replaced when a canary candidate is promoted. */
  #model: RetryModel;
  /** A candidate version shadowed or canaried beside it ([model_rollout]). */
  readonly #candidate: ModelCandidate | undefined;
  readonly #labeller: RetryLabeller;
  readonly #profiles: ClientProfiles;
  readonly #learner: OnlineLearner;
  readonly #quality: ModelQuality;
  readonly #byFamily = createFamilyCalibration();
  readonly #retryDelays = new RetryDelayEstimate();
  /** Failures handed to the learner with a provisional 0: a late retry corrects them. */
  readonly #learnedAsZero = new WeakSet<object>();
  readonly #sink: NdjsonSink | undefined;
  readonly #attemptCounters;
  readonly #labelCounters;
  #clientKey: (req: { headers: RequestFacts['headers']; clientIp: string }) => string;
  #idempotencyKeyHeader: string;
  #tally: RetryTally = { clientRetries: 0, clientRepeats: 0 };
  #config: Config;
  #cancelTimers: (() => void)[] = [];
  /** Set once a candidate was promoted here or before a restart: saved with every snapshot. */
  #promotedCandidate: PromotedCandidate | undefined;
  /** Final labels (0 or 1) so far: the quality window holds the last quality_window of them. */
  #labelled = 0;
  #trainedFromMs = Number.NaN;
  #trainedToMs = Number.NaN;

  constructor(config: Config, model: RetryModel, deps: RuntimeDeps, candidate?: ModelCandidate, promotedCandidate?: PromotedCandidate) {
    this.#deps = deps;
    this.#promotedCandidate = promotedCandidate;
    this.#config = config;
    this.#model = model;
    this.#candidate = candidate;
    const t = config.telemetry;
    const m = deps.metrics;
    [this.#clientKey, this.#idempotencyKeyHeader] = identityOf(config);
    this.#profiles = new ClientProfiles({ halfLifeMs: CLIENT_PROFILE_HALF_LIFE_MS, maxClients: t.maxClients });
    this.#quality = createModelQuality(config.model.qualityWindow);
    this.#attemptCounters = ATTEMPT_LABELS.map((a) => m.attempts.labels({ attempt: a }));
    this.#labelCounters = [m.labels.labels({ retried: '0' }), m.labels.labels({ retried: '1' }), m.labels.labels({ retried: 'unknown' })] as const;
    // quality is scored on final labels with the prediction served at response time (#onLabelled)
    this.#learner = new OnlineLearner(t.queueCapacity, { learn: (e, y) => this.#model.learn(e, y) }, {
      onDrop: () => m.telemetryDropped.inc({ queue: 'learner' }),
    });
    this.#labeller = new RetryLabeller({ windowMs: config.retry.window, maxTracked: t.maxTracked, learnAfterMs: this.#retryDelays.learnAfterMs(config.retry.window) }, {
      onLearnable: (e, label) => this.#onLearnable(e, label),
      onRetryDelay: (ms) => {
        this.#retryDelays.observe(ms);
        this.#labeller.learnAfterMs = this.#retryDelays.learnAfterMs(this.#config.retry.window);
      },
      onLabelled: (e) => this.#onLabelled(e),
      onEvict: (lost) => m.labellerEvictions.inc(lost),
      onRetry: () => this.#tally.clientRetries++,
      onRepeat: () => {
        this.#tally.clientRepeats++;
        m.repeats.inc();
      },
    });
    if (t.path !== undefined) {
      this.#sink = new NdjsonSink({ path: t.path, maxFileBytes: t.maxFileBytes, maxFiles: t.maxFiles, queueCapacity: t.queueCapacity }, {
        onDrop: () => m.telemetryDropped.inc({ queue: 'sink' }),
        onError: (err) => {
          m.sinkErrors.inc();
          deps.logger.warn({ err: (err as Error).message, path: t.path }, 'telemetry NDJSON write failed');
        },
      });
    }
  }

  get model(): RetryModel {
    return this.#model;
  }

  /** Counts retries and repeats into the runtime's tally from now on. */
  countInto(tally: RetryTally): void {
    this.#tally = tally;
  }

  /** Client key, idempotency header and thresholds follow reloads; window, capacities and the sink path need a restart. */
  reconfigure(config: Config): void {
    this.#config = config;
    [this.#clientKey, this.#idempotencyKeyHeader] = identityOf(config);
  }

  /** Whether the fingerprint wants the body: [telemetry] hash_body and the size limit. */
  get maxBodyHashBytes(): number {
    return this.#config.telemetry.hashBody ? this.#config.telemetry.maxBodyHashBytes : -1;
  }

  start(): void {
    const clock = this.#deps.clock;
    const every = (ms: number, fn: () => void): void => {
      const loop = (): void => {
        fn();
        this.#cancelTimers.push(clock.setTimer(ms, loop));
      };
      this.#cancelTimers.push(clock.setTimer(ms, loop));
    };
    every(SWEEP_INTERVAL_MS, () => {
      this.#labeller.sweep(clock.now());
      this.#profiles.sweep(clock.now());
    });
    if (this.#config.model.enabled) every(this.#config.model.learnInterval, () => this.learnNow());
    if (this.#config.model.enabled && this.#config.model.path !== undefined) every(this.#config.model.snapshotInterval, () => void this.saveSnapshot());
  }

  async stop(): Promise<void> {
    for (const cancel of this.#cancelTimers) cancel();
    this.#cancelTimers = [];
    this.learnNow();
    // every response's prediction goes on file: attempts still waiting for their window, label null
    const unlabelled = this.#labeller.flushUnlabelled();
    if (unlabelled > 0) this.#deps.logger.info({ unlabelled }, 'telemetry: attempts still inside the retry window written with retried = null');
    await this.#sink?.close();
    await this.saveSnapshot();
  }

  /** Saves the model to [model] path (atomically); failures are counted and logged, never thrown. */
  async saveSnapshot(): Promise<void> {
    const path = this.#config.model.path;
    if (path === undefined || !this.#config.model.enabled) return;
    try {
      await writeSnapshotFile(path, this.snapshot());
    } catch (err) {
      this.#deps.metrics.snapshotFailures.inc();
      this.#deps.logger.warn({ err: (err as Error).message, path }, 'model snapshot could not be saved');
    }
  }

  /** accept: identifies the client and what it asked; the ticket carries the attempt number. */
  begin(req: RequestFacts): AttemptStart {
    const clientKey = this.#clientKey(req);
    const idempotencyKey = req.headers[this.#idempotencyKeyHeader];
    const fingerprint = fingerprintOf(req.method, req.host, req.url, typeof idempotencyKey === 'string' ? idempotencyKey : undefined, req.body);
    const ticket = this.#labeller.arrive(clientKey, fingerprint, this.#deps.clock.now(), markedAttemptOf(req.headers));
    this.#attemptCounters[Math.min(ticket.attempt, 4) - 1]?.inc();
    return { clientKey, fingerprint, ticket, route: routeOf(req.url), userAgentFamily: userAgentFamily(req.headers['user-agent'] as string | undefined), startedAtMs: Date.now() };
  }

  /** record: the attempt's event with the prediction made now; returns that prediction. */
  end(start: AttemptStart, end: AttemptEnd): number {
    this.#labeller.settle(start.ticket, end.errorKind); // the attempt number is final now
    const slot = historySlotOf(responseClassOf(end.status, end.errorKind !== 'none' && end.errorKind !== 'aborted'), end.method, start.ticket.attempt);
    const history = this.#profiles.stats(start.clientKey, slot, this.#deps.clock.now());
    const event: PendingEvent = {
      requestId: end.requestId,
      startedAtMs: start.startedAtMs,
      endedAtMs: Date.now(),
      clientKey: start.clientKey,
      fingerprint: start.fingerprint,
      attempt: start.ticket.attempt,
      repeat: start.ticket.isRepeat,
      retryMarker: start.ticket.hasRetryMarker,
      method: end.method,
      route: start.route,
      backend: end.backend,
      status: end.status,
      errorKind: end.errorKind,
      latencyMs: end.latencyMs,
      bytesIn: end.bytesIn,
      bytesOut: end.bytesOut,
      retryAfterSec: end.retryAfterSec,
      userAgentFamily: start.userAgentFamily,
      clientRetryRate: history.rate,
      clientLabelCount: history.count,
      backendLatencyEwmaMs: end.backendLatencyEwmaMs,
      backendErrorEwma: end.backendErrorEwma,
      backendInFlight: end.backendInFlight,
      prediction: 0,
      retried: 0, // set by the labeller once known
    };
    const prediction = this.#config.model.enabled ? this.#model.predict(event) : 0;
    (event as { prediction: number }).prediction = prediction;
    if (this.#config.model.enabled) this.#candidate?.observe(event, prediction);
    this.#deps.metrics.telemetryEvents.inc();
    // a response's distribution: an attempt whose client left got none (its event keeps the prediction)
    if (end.errorKind !== 'aborted') this.#deps.metrics.predictions.observe(prediction);
    this.#labeller.finish(start.ticket, event, this.#deps.clock.now());
    return prediction;
  }

  predict(input: FeatureInput): number {
    const p = this.#model.predict(input);
    return this.#candidate === undefined ? p : this.#candidate.choose(input, p);
  }

  /** POST /api/model/candidate/promote|abort; false without a running candidate. */
  candidateCommand(cmd: 'promote' | 'abort'): boolean {
    if (this.#candidate?.command(cmd) !== true) return false;
    if (cmd === 'promote') this.#promote(this.#candidate);
    return true;
  }

  learnNow(): void {
    const n = this.#learner.drain();
    if (n > 0) this.#deps.metrics.modelUpdates.inc(n);
    if (this.#candidate?.learnNow() === 'promote') this.#promote(this.#candidate);
  }

  /**
   * A promoted candidate becomes the live model: it learns on, and is saved to [model] path at
   * once, marked as the promoted candidate, so that a restart loads it and does not run the
   * candidate file again.
   */
  #promote(candidate: ModelCandidate): void {
    this.#model = candidate.model;
    this.#promotedCandidate = { path: candidate.path, version: candidate.fileVersion };
    if (this.#config.model.path === undefined) {
      this.#deps.logger.warn({ candidate: candidate.path }, 'the promoted retry model is not saved: set [model] path, or a restart goes back to the previous model');
      return;
    }
    void this.saveSnapshot();
  }

  publishGauges(): void {
    const m = this.#deps.metrics;
    m.trackedKeys.set(this.#labeller.trackedKeys);
    m.learnerBacklog.set(this.#learner.backlog);
    const report = this.#quality.report();
    const rows = [['live', report.model], ['baseline_status5xx', report.baselines.status5xx], ['baseline_per_status', report.baselines.perStatus]] as const;
    for (const [model, q] of rows) {
      for (const [metric, value] of [['auc', q.auc], ['log_loss', q.logLoss], ['brier', q.brier], ['ece', q.ece], ['positive_rate', q.positiveRate]] as const) {
        if (value !== null) m.modelQuality.set({ model, metric }, value);
      }
    }
  }

  report() {
    return {
      modelVersion: this.#model.version,
      updates: this.#model.updates,
      labelled: this.#labelled,
      learned: this.#learner.learned,
      learnerBacklog: this.#learner.backlog,
      trackedKeys: this.#labeller.trackedKeys,
      retryWindowMs: this.#config.retry.window,
      /** How long after a failure the learner takes it (1.5 x the recent 90th percentile of retry delays). */
      learnAfterMs: this.#labeller.learnAfterMs,
      quality: this.#quality.report(),
      failuresByUserAgentFamily: this.#byFamily.report(),
      candidate: this.#candidate?.report(),
    };
  }

  snapshot() {
    return this.#model.snapshot({
      createdAtMs: Date.now(),
      trainingWindow: { fromMs: this.#trainedFromMs || 0, toMs: this.#trainedToMs || 0, events: this.#learner.learned },
      quality: this.#quality.report() as unknown as Record<string, unknown>,
      promotedCandidate: this.#promotedCandidate,
    });
  }

  /**
   * A failure, a fixed delay after it ended, with the label known then: what the client history
   * and the learner take (retry-labeller.ts learnAfterMs). A 0 is provisional: a late retry corrects it.
   */
  #onLearnable(event: RecordedEvent, label: 0 | 1): void {
    if (label === 0) this.#learnedAsZero.add(event);
    this.#profiles.observe(event.clientKey, classOf(event), label, this.#deps.clock.now());
    if (this.#config.model.enabled) this.#learner.enqueue({ ...event, retried: label });
  }

  #onLabelled(event: RecordedEvent): void {
    this.#sink?.write(event);
    if (!hasKnownLabel(event)) {
      this.#labelCounters[2].inc();
      return;
    }
    this.#labelCounters[event.retried].inc();
    this.#labelled++;
    // progressive validation: the prediction served when the response ended, against the label
    this.#quality.record(event, event.prediction, event.retried);
    if (Number.isNaN(this.#trainedFromMs)) this.#trainedFromMs = event.startedAtMs;
    this.#trainedToMs = event.startedAtMs;
    if (!mayBeRetried(event.status, event.errorKind, event.retryMarker)) return; // a success teaches nothing
    if (isClientVisibleFailure(event.status, event.errorKind)) this.#byFamily.record(event.userAgentFamily, event.prediction, event.retried);
    // the fake-negative correction: a retry that came after the failure was learned as a 0
    if (event.retried === 1 && this.#learnedAsZero.has(event)) {
      this.#profiles.correct(event.clientKey, classOf(event), this.#deps.clock.now());
      if (this.#config.model.enabled) this.#learner.enqueue(event);
    }
    if (this.#config.model.enabled) this.#candidate?.enqueue(event);
  }
}

/** Who sent a request and which header carries its idempotency key: both follow reloads. */
function identityOf(config: Config): [ReturnType<typeof createClientKeyFn>, string] {
  const t = config.telemetry;
  return [createClientKeyFn(t.clientKey.map((s) => parseClientKeySource(s) as ClientKeySource), t.clientKeySalt), config.retry.idempotencyKeyHeader.toLowerCase()];
}

function classOf(event: RecordedEvent): HistorySlot {
  return historySlotOf(responseClassOf(event.status, event.errorKind !== 'none' && event.errorKind !== 'aborted'), event.method, event.attempt);
}
