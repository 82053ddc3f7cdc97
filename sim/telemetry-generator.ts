// Synthetic labelled telemetry, behind `sibyl generate-telemetry`: a small discrete-event
// simulation of client populations (populations.ts) sending requests through Sibyl to backends
// that brown out, fail and get rate limited (backends.ts). Every attempt becomes one AttemptEvent;
// labels, attempt numbers and the client's retry history are then computed from the arrivals
// alone, exactly as a live labeller could (labels.ts, client-history.ts). Deterministic per seed.
import { open } from 'node:fs/promises';
import { fnv1a32 } from '../src/core/hash.ts';
import { createSeededRng, type Rng } from '../src/core/rng.ts';
import type { LabelledEvent } from '../src/telemetry/attempt-event.ts';
import { createBackends, createTokenBucket, faultAt, limitedOutcome, loadFactorAt, planFaults, PROXY_TIMEOUT_MS, recordOutcome, serveAttempt, snapshotOf, takeToken } from './backends.ts';
import type { BackendSnapshot, FaultPlan, ServedOutcome, SimBackend, TokenBucket } from './backends.ts';
import { historySlotOf } from '../src/telemetry/client-profile.ts';
import { clientRetryHistory, responseClassOf, type ClientRetryStats } from './client-history.ts';
import { EventQueue, type Timed } from './event-queue.ts';
import { labelArrivals, type Arrival, type ArrivalLabel } from './labels.ts';
import { createClients, duplicateDelayMs, pickRoute, pollDelayMs, retryDelayMs, totalRatePerSec, type PopulationName, type SimClient } from './populations.ts';
import { exponential, hex8, randomHex16 } from './random.ts';
import { requestBytes, responseBytes, ROUTES, type RouteSpec } from './routes.ts';

export interface TelemetryOptions {
  readonly seed: number;
  readonly clients: number;
  readonly durationMs: number;
  /** Epoch ms of the first instant simulated (default 2025-01-01T00:00:00Z). */
  readonly startMs?: number;
  /** DESIGN.md `retry.window` (default 30 s). */
  readonly retryWindowMs?: number;
  /** Half-life of the client retry history (default 10 min, as the live client profiles). */
  readonly historyHalfLifeMs?: number;
  /** Mean time between brownouts; outages come 1.2x and surges 3x as rarely (default 5 min). */
  readonly meanBrownoutGapMs?: number;
  /** Number of backends (default 3 or 4, drawn from the seed). */
  readonly backends?: number;
}

export interface SimulatedTelemetry {
  readonly events: LabelledEvent[];
  /** Ground truth the events never carry: the population of each client key. */
  readonly populationOf: ReadonlyMap<string, PopulationName>;
  readonly faultPlan: FaultPlan;
}

const DEFAULT_START_MS = Date.UTC(2025, 0, 1);
const DEFAULT_WINDOW_MS = 30_000;
const DEFAULT_HISTORY_HALF_LIFE_MS = 600_000;
const DEFAULT_BROWNOUT_GAP_MS = 300_000;
/** The limiter admits this multiple of the clients' average fresh request rate: surges trip it. */
const LIMITER_HEADROOM = 1.6;
const LIMITER_BURST_SEC = 3;
const NO_BACKEND: BackendSnapshot = { latencyEwmaMs: 0, errorEwma: 0, inFlight: 0 };

interface Arrive extends Timed {
  readonly kind: 'arrive';
  readonly client: number;
  /** undefined: a fresh request (route and fingerprint drawn on arrival); else a repeat of one. */
  readonly repeat: Repeat | undefined;
}

interface Repeat {
  readonly route: number;
  readonly fingerprint: string;
  readonly retries: number;
  readonly previousBackend: number;
  /** Part of a poll chain: repeated after each success. */
  readonly isPolled: boolean;
}

interface Complete extends Timed {
  readonly kind: 'complete';
  readonly attempt: RawAttempt;
}

interface RawAttempt extends Omit<Arrival, 'status' | 'errorKind'> {
  readonly requestId: string;
  readonly client: number;
  readonly route: number;
  readonly retries: number;
  readonly isPolled: boolean;
  /** -1 when the limiter answered before any backend was picked. */
  readonly backend: number;
  readonly outcome: ServedOutcome;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly snapshot: BackendSnapshot;
}

interface World {
  readonly rng: Rng;
  readonly clients: readonly SimClient[];
  readonly backends: readonly SimBackend[];
  readonly plan: FaultPlan;
  readonly bucket: TokenBucket;
  readonly queue: EventQueue<Arrive | Complete>;
  readonly horizonMs: number;
  readonly attempts: RawAttempt[];
}

export function generateTelemetry(options: TelemetryOptions): LabelledEvent[] {
  return simulateTelemetry(options).events;
}

export function simulateTelemetry(options: TelemetryOptions): SimulatedTelemetry {
  const startMs = options.startMs ?? DEFAULT_START_MS;
  const endMs = startMs + options.durationMs;
  const windowMs = options.retryWindowMs ?? DEFAULT_WINDOW_MS;
  const rng = createSeededRng(options.seed);
  const clients = createClients(rng, options.clients);
  const backendCount = options.backends ?? (rng.next() < 0.5 ? 3 : 4);
  // keep simulating past the end until every emitted attempt's window has closed, so that the
  // last labels are as true as the first ones
  const horizonMs = endMs + PROXY_TIMEOUT_MS + windowMs + 1;
  const world: World = {
    rng,
    clients,
    backends: createBackends(rng, backendCount),
    plan: planFaults(rng, { backendCount, fromMs: startMs, toMs: horizonMs, meanBrownoutGapMs: options.meanBrownoutGapMs ?? DEFAULT_BROWNOUT_GAP_MS }),
    bucket: createTokenBucket(LIMITER_HEADROOM * totalRatePerSec(clients), LIMITER_HEADROOM * totalRatePerSec(clients) * LIMITER_BURST_SEC, startMs),
    queue: new EventQueue(),
    horizonMs,
    attempts: [],
  };
  clients.forEach((_, i) => scheduleFresh(world, i, startMs));
  run(world);
  const labels = labelArrivals(world.attempts.map((a) => ({ ...a, status: a.outcome.status, errorKind: a.outcome.errorKind })), windowMs);
  const history = clientRetryHistory(
    world.attempts.map((a, i) => ({ clientKey: a.clientKey, slot: historySlotOf(responseClassOf(a.outcome.status, a.outcome.errorKind), (ROUTES[a.route] as RouteSpec).method, (labels[i] as ArrivalLabel).attempt), startedAtMs: a.startedAtMs, retried: (labels[i] as ArrivalLabel).retried, labelKnownAtMs: (labels[i] as ArrivalLabel).labelKnownAtMs })),
    options.historyHalfLifeMs ?? DEFAULT_HISTORY_HALF_LIFE_MS,
  );
  const events: LabelledEvent[] = [];
  world.attempts.forEach((a, i) => {
    if (a.startedAtMs < endMs) events.push(toEvent(world, a, labels[i] as ArrivalLabel, history[i] as ClientRetryStats));
  });
  return { events, populationOf: new Map(clients.map((c) => [c.clientKey, c.population.name])), faultPlan: world.plan };
}

function run(world: World): void {
  for (let e = world.queue.pop(); e !== undefined; e = world.queue.pop()) {
    if (e.kind === 'arrive') arrive(world, e);
    else complete(world, e);
  }
}

function scheduleFresh(world: World, client: number, nowMs: number): void {
  const c = world.clients[client] as SimClient;
  const atMs = nowMs + exponential(world.rng, 1000 / (c.ratePerSec * loadFactorAt(world.plan, nowMs)));
  if (atMs < world.horizonMs) world.queue.push({ kind: 'arrive', atMs, rank: 1, client, repeat: undefined });
}

function arrive(world: World, e: Arrive): void {
  const { rng } = world;
  const c = world.clients[e.client] as SimClient;
  let repeat = e.repeat;
  if (repeat === undefined) {
    scheduleFresh(world, e.client, e.atMs);
    const route = pickRoute(rng, c);
    const spec = ROUTES[route] as RouteSpec;
    const isPolled = c.isPoller && spec.isPollable && rng.next() < c.pollShare;
    repeat = { route, fingerprint: fingerprintOf(c, spec, randomHex16(rng)), retries: 0, previousBackend: -1, isPolled };
  }
  const route = ROUTES[repeat.route] as RouteSpec;
  let backend = -1;
  let snapshot = NO_BACKEND;
  let outcome: ServedOutcome;
  if (!takeToken(world.bucket, e.atMs)) {
    outcome = limitedOutcome(rng, route);
  } else {
    backend = pickBackend(world, repeat.previousBackend);
    const b = world.backends[backend] as SimBackend;
    snapshot = snapshotOf(b, e.atMs);
    outcome = serveAttempt(rng, b, route, faultAt(world.plan, backend, e.atMs), c.timeoutMs);
    b.inFlight++;
  }
  const attempt: RawAttempt = {
    requestId: randomHex16(rng),
    clientKey: c.clientKey,
    fingerprint: repeat.fingerprint,
    startedAtMs: Math.round(e.atMs),
    endedAtMs: Math.round(e.atMs + outcome.latencyMs),
    client: e.client,
    route: repeat.route,
    retries: repeat.retries,
    isPolled: repeat.isPolled,
    backend,
    outcome,
    bytesIn: requestBytes(rng, route, c.headerBytes),
    bytesOut: responseBytes(rng, route, outcome.status),
    snapshot,
  };
  world.attempts.push(attempt);
  world.queue.push({ kind: 'complete', atMs: e.atMs + outcome.latencyMs, rank: 0, attempt });
}

/** The client reads the response and decides: retry it, poll it again later, or move on. */
function complete(world: World, e: Complete): void {
  const a = e.attempt;
  if (a.backend >= 0) {
    const b = world.backends[a.backend] as SimBackend;
    b.inFlight--;
    recordOutcome(b, a.outcome, e.atMs);
  }
  const c = world.clients[a.client] as SimClient;
  const route = ROUTES[a.route] as RouteSpec;
  let retries = a.retries + 1;
  let isPolled = a.isPolled;
  let delayMs = retryDelayMs(world.rng, c, route.method, a.outcome, a.retries);
  if (delayMs === undefined && a.isPolled) {
    delayMs = pollDelayMs(world.rng, c, a.outcome);
    retries = 0; // a poll is a new logical request, with its own retry allowance
  }
  if (delayMs === undefined) {
    delayMs = duplicateDelayMs(world.rng, route.method, a.outcome);
    retries = 0;
    isPolled = false; // a stopped poll chain stays stopped
  }
  if (delayMs === undefined || e.atMs + delayMs >= world.horizonMs) return;
  world.queue.push({ kind: 'arrive', atMs: e.atMs + delayMs, rank: 1, client: a.client, repeat: { route: a.route, fingerprint: a.fingerprint, retries, previousBackend: a.backend, isPolled } });
}

/** Power of two choices on in-flight; a repeated request avoids the backend of its previous attempt. */
function pickBackend(world: World, avoid: number): number {
  const n = world.backends.length;
  const draw = (): number => {
    if (avoid < 0 || n < 2) return Math.floor(world.rng.next() * n);
    const i = Math.floor(world.rng.next() * (n - 1));
    return i >= avoid ? i + 1 : i;
  };
  const x = draw();
  const y = draw();
  return (world.backends[y] as SimBackend).inFlight < (world.backends[x] as SimBackend).inFlight ? y : x;
}

/** What was asked: method and route of this client, plus a per-request id so that two different requests never collide. */
function fingerprintOf(c: SimClient, route: RouteSpec, requestNonce: string): string {
  const s = `${c.clientKey}\u0000${route.method}\u0000${route.route}\u0000${requestNonce}`;
  return hex8(fnv1a32(s)) + hex8(fnv1a32(s, 0x9747b28c));
}

function toEvent(world: World, a: RawAttempt, label: ArrivalLabel, history: ClientRetryStats): LabelledEvent {
  const c = world.clients[a.client] as SimClient;
  const route = ROUTES[a.route] as RouteSpec;
  return {
    requestId: a.requestId,
    startedAtMs: a.startedAtMs,
    endedAtMs: a.endedAtMs,
    clientKey: a.clientKey,
    fingerprint: a.fingerprint,
    attempt: label.attempt,
    repeat: label.isRepeat,
    retryMarker: false,
    method: route.method,
    route: route.route,
    backend: a.backend < 0 ? '' : (world.backends[a.backend] as SimBackend).name,
    status: a.outcome.status,
    errorKind: a.outcome.errorKind,
    latencyMs: round(a.outcome.latencyMs, 100),
    bytesIn: a.bytesIn,
    bytesOut: a.bytesOut,
    retryAfterSec: a.outcome.retryAfterSec,
    userAgentFamily: c.userAgentFamily,
    clientRetryRate: round(history.rate, 10_000),
    clientLabelCount: round(history.count, 1000),
    backendLatencyEwmaMs: round(a.snapshot.latencyEwmaMs, 100),
    backendErrorEwma: round(a.snapshot.errorEwma, 10_000),
    backendInFlight: a.snapshot.inFlight,
    // no model scored the simulated traffic: a constant, so that it cannot carry the label
    prediction: 0,
    retried: label.retried,
  };
}

function round(x: number, scale: number): number {
  return Math.round(x * scale) / scale;
}

/** One JSON object per line; undefined fields (e.g. no Retry-After) are omitted. */
export async function writeNdjson(events: readonly LabelledEvent[], path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    let chunk = '';
    for (const e of events) {
      chunk += `${JSON.stringify(e)}\n`;
      if (chunk.length >= 1 << 20) {
        await file.write(chunk);
        chunk = '';
      }
    }
    if (chunk !== '') await file.write(chunk);
  } finally {
    await file.close();
  }
}
