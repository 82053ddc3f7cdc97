// One run: a scenario's open-loop client traffic, with real-world retry policies and timeouts,
// through one policy's proxy to the capacity-limited fleet. Deterministic per seed: every source
// of randomness is a seeded stream, and each stream serves one purpose, so two policies see the
// same arrivals and the same client choices (common random numbers).
import { createSeededRng, type Rng } from '../../src/core/rng.ts';
import { Agenda, Rank } from './agenda.ts';
import { BackendServer, NORMAL_MODE, type BackendMode } from './backend-server.ts';
import { policyOfProcess, RetryQuota, type AttemptResult, type ClientPolicy } from './client-policies.ts';
import { POLICIES, PolicyNames, type PolicyName } from './policies.ts';
import { Recorder, type PhaseSummary } from './recorder.ts';
import { capacityRps, endOfArrivalsMs, phasesOf, type ScenarioSpec } from './scenarios.ts';
import { createStormProxy, type Downstream, type ProxyState, type StormProxy } from './storm-proxy.ts';

/** After the last arrival, time for every request to finish (undici's 6 attempts: 6 x 1 s timeouts + 15.5 s of backoff). */
const DRAIN_MS = 30_000;

export interface StormRun {
  readonly scenario: ScenarioSpec['name'];
  readonly policy: PolicyName;
  readonly capacityRps: number;
  readonly phases: readonly PhaseSummary[];
  /** Seconds from the trigger's removal to the first second with >= 99 % success; null: never. */
  readonly recoverySeconds: number | null;
  /** Per second from 0: goodput as a share of the offered load (for plots). */
  readonly goodputShareSeries: readonly number[];
  readonly triggerStartMs: number;
  readonly triggerEndMs: number;
  readonly endMs: number;
  readonly recorder: Recorder;
  /** The proxy's defence state at the end of each second (index: second). */
  readonly proxyStates: readonly ProxyState[];
}

interface ClientProcess {
  /** Who the proxy sees (its client key). */
  readonly id: string;
  readonly policy: ClientPolicy;
  readonly quota: RetryQuota | undefined;
}

interface ClientRequest {
  readonly arrivalMs: number;
  readonly process: ClientProcess;
  attempts: number;
  upstreamAttempts: number;
  lastBackendId: string | undefined;
  lastRetryCost: number;
}

interface ClientAttempt extends Downstream {
  readonly request: ClientRequest;
  isAbandoned: boolean;
  isAnswered: boolean;
}

function stream(seed: number, purpose: number): Rng {
  return createSeededRng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca6b)) >>> 0);
}

const Stream = { arrivals: 1, clients: 2, proxy: 3, backends: 100 } as const;

function triggerModes(spec: ScenarioSpec): BackendMode[] {
  const t = spec.trigger;
  return Array.from({ length: spec.fleet.backends }, (_, i) => {
    const isAffected = t.backendIndices === undefined || t.backendIndices.includes(i);
    if (!isAffected) return NORMAL_MODE;
    return { capacityFactor: t.capacityFactor ?? 1, slowFactor: t.slowFactor ?? 1, isFailingFast: t.isFailingFast ?? false };
  });
}

export function runStorm(spec: ScenarioSpec, policyName: PolicyName): StormRun {
  const agenda = new Agenda();
  const arrivalsEndMs = endOfArrivalsMs(spec.timeline);
  const endMs = arrivalsEndMs + DRAIN_MS;
  const recorder = new Recorder(endMs);
  const [, during] = phasesOf(spec.timeline);
  const triggerStartMs = (during as { startMs: number }).startMs;
  const triggerEndMs = (during as { endMs: number }).endMs;

  const servers = Array.from(
    { length: spec.fleet.backends },
    (_, i) => new BackendServer(`b${i}`, spec.fleet, { agenda, rng: stream(spec.seed, Stream.backends + i), onServed: (isWasted) => recorder.servedOne(agenda.nowMs, isWasted) }),
  );
  const proxy: StormProxy = createStormProxy(POLICIES[policyName], { agenda, rng: stream(spec.seed, Stream.proxy), servers, trueConcurrency: spec.fleet.workers, recorder });
  const processes: ClientProcess[] = Array.from({ length: spec.clientProcesses }, (_, i) => {
    const policy = policyOfProcess(i, spec.clientProcesses, spec.clientPolicies);
    return { id: `client-${i}`, policy, quota: policy.hasTokenBucket ? new RetryQuota() : undefined };
  });
  const clientRng = stream(spec.seed, Stream.clients);
  const arrivalRng = stream(spec.seed, Stream.arrivals);

  let loadFactor = 1;
  const modes = triggerModes(spec);
  agenda.at(triggerStartMs, () => {
    loadFactor = spec.trigger.loadFactor ?? 1;
    servers.forEach((s, i) => s.setMode(modes[i] as BackendMode));
  });
  agenda.at(triggerEndMs, () => {
    loadFactor = 1;
    for (const s of servers) s.setMode(NORMAL_MODE);
  });

  const finish = (request: ClientRequest, isSuccess: boolean): void => {
    if (isSuccess) request.process.quota?.onSuccess(request.lastRetryCost);
    recorder.requestDone({ arrivalMs: request.arrivalMs, endMs: agenda.nowMs, isSuccess, attempts: request.attempts, upstreamAttempts: request.upstreamAttempts });
  };

  const onFailure = (request: ClientRequest, result: AttemptResult): void => {
    const policy = request.process.policy;
    if (request.attempts >= policy.maxAttempts || !policy.isRetryable(result)) return finish(request, false);
    let cost = 0;
    if (request.process.quota !== undefined) {
      const taken = request.process.quota.tryAcquire(result);
      if (taken === undefined) return finish(request, false);
      cost = taken;
    }
    request.lastRetryCost = cost;
    agenda.at(agenda.nowMs + policy.delayMs(result, request.attempts, clientRng), () => startAttempt(request));
  };

  const startAttempt = (request: ClientRequest): void => {
    request.attempts++;
    const attempt: ClientAttempt = {
      request,
      isAbandoned: false,
      isAnswered: false,
      respond(result) {
        if (attempt.isAbandoned || attempt.isAnswered) return;
        attempt.isAnswered = true;
        if (result.kind === 'response' && result.status < 400) finish(request, true);
        else onFailure(request, result);
      },
    };
    const abort = proxy.handle(attempt);
    agenda.at(agenda.nowMs + request.process.policy.timeoutMs, () => {
      if (attempt.isAnswered) return;
      attempt.isAbandoned = true;
      abort();
      onFailure(request, { kind: 'timeout' });
    });
  };

  const baseRatePerMs = (spec.offeredShare * capacityRps(spec.fleet)) / 1000;
  const scheduleArrival = (): void => {
    // exponential gaps at the current rate; a rate change applies from the next gap on
    const gapMs = -Math.log(1 - arrivalRng.next()) / (baseRatePerMs * loadFactor);
    const atMs = agenda.nowMs + gapMs;
    if (atMs >= arrivalsEndMs) return;
    agenda.at(
      atMs,
      () => {
        const process = processes[Math.floor(arrivalRng.next() * processes.length)] as ClientProcess;
        startAttempt({ arrivalMs: agenda.nowMs, process, attempts: 0, upstreamAttempts: 0, lastBackendId: undefined, lastRetryCost: 0 });
        scheduleArrival();
      },
      Rank.arrival,
    );
  };
  scheduleArrival();
  const proxyStates: ProxyState[] = [];
  const sampleState = (): void => {
    proxyStates.push(proxy.inspect());
    if (agenda.nowMs + 1000 < endMs) agenda.at(agenda.nowMs + 1000, sampleState, Rank.timer);
  };
  agenda.at(999, sampleState, Rank.timer);
  agenda.runUntil(endMs);

  return {
    scenario: spec.name,
    policy: policyName,
    capacityRps: capacityRps(spec.fleet),
    phases: phasesOf(spec.timeline).map((p) => recorder.summarize(p)),
    recoverySeconds: recorder.recoverySeconds(triggerEndMs, arrivalsEndMs),
    goodputShareSeries: recorder.goodputShareSeries(),
    triggerStartMs,
    triggerEndMs,
    endMs: arrivalsEndMs,
    recorder,
    proxyStates,
  };
}

/** Every listed scenario under every policy, in a stable order. */
export function runStorms(specs: readonly ScenarioSpec[], policies: readonly PolicyName[] = PolicyNames): StormRun[] {
  return specs.flatMap((spec) => policies.map((policy) => runStorm(spec, policy)));
}
