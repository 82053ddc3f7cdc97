// Online learning on live traffic through the real binary: two client populations that retry
// different statuses hit one backend with a mix of answers; Sibyl labels their retries, learns
// online, and its progressive-validation quality must beat the per-status baseline, which cannot
// tell the populations apart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSeededRng } from '../../src/core/rng.ts';
import type { FeatureInput } from '../../src/model/features.ts';
import type { ModelSnapshot } from '../../src/model/model-snapshot.ts';
import { readSnapshotFile, SHIPPED_PRIOR_PATH } from '../../src/model/model-store.ts';
import { logLoss, rocAuc } from '../../src/model/quality.ts';
import { createRetryModel } from '../../src/model/retry-model.ts';
import { backendsToml } from '../helpers/backends.ts';
import { describePopulations, drivePopulations, type Population, type PopulationResult } from '../helpers/retry-population.ts';
import { modelView, predictRetry, readLabelledEvents, scriptedBackend, type LabelledLine, type ModelView } from '../helpers/retry-telemetry.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const QUALITY_WINDOW = 2000;
/**
 * Quality is scored on the predictions served when each response ended; the first window holds the
 * cold start (40 new clients), so the figures are read over the second window of labels.
 */
const WARMUP_LABELS = QUALITY_WINDOW;
const MAX_REQUESTS = 9000;
const MAX_DRIVE_MS = 40_000;
/** ~40 clients x 12 requests/s: labels lag the traffic by 1-2 s, and the pace sets how many requests that is. */
const THINK_MS = 80;

const POPULATIONS: readonly Population[] = [
  // retries 503 and 500 up to twice, never 429
  { name: 'retry-5xx', clients: 20, policy: { userAgent: 'okhttp/4.12', retries: (status) => status === 503 || status === 500, backoffMs: 20, maxAttempts: 3, thinkMs: THINK_MS } },
  // retries only 429, once
  { name: 'retry-429', clients: 20, policy: { userAgent: 'python-requests/2.31', retries: (status, attempt) => status === 429 && attempt === 1, backoffMs: 20, maxAttempts: 2, thinkMs: THINK_MS } },
];

/** 200: 70 %, 503: 15 %, 429: 10 %, 500: 5 %, drawn per request from a seeded RNG. */
function mixedStatus(seed: number): () => number {
  const rng = createSeededRng(seed);
  return () => {
    const u = rng.next();
    return u < 0.7 ? 200 : u < 0.85 ? 503 : u < 0.95 ? 429 : 500;
  };
}

interface Sample {
  readonly sent: number;
  readonly learned: number;
  readonly count: number;
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly perStatusLogLoss: number | null;
}

function sampleOf(sent: number, view: ModelView): Sample {
  const { model, baselines } = view.quality;
  return { sent, learned: view.labelled, count: model.count, auc: model.auc, logLoss: model.logLoss, perStatusLogLoss: baselines.perStatus.logLoss };
}

function total(results: Map<string, PopulationResult>, of: (r: PopulationResult) => number): number {
  return [...results.values()].reduce((sum, r) => sum + of(r), 0);
}

async function startOnlineSibyl(t: TestContext, eventsPath: string): Promise<SibylProcess> {
  const nextStatus = mixedStatus(20240611);
  const backend = await scriptedBackend('app', () => nextStatus());
  t.after(() => backend.close());
  const sibyl = await startSibyl(
    testConfig(
      [
        '[retry]\nwindow = "1s"',
        `[telemetry]\npath = ${JSON.stringify(eventsPath)}`,
        `[model]\nlearn_interval = "50ms"\nquality_window = ${QUALITY_WINDOW}`,
        '[health]\nenabled = false',
        // the backend's 5xx and 429 are its scripted answers, not a failing backend
        '[outlier_detection]\nenabled = false',
        backendsToml([backend]),
      ].join('\n\n'),
    ),
  );
  t.after(() => sibyl.stop());
  return sibyl;
}

/**
 * Drives both populations until the quality window is full, read while the traffic flows: a
 * retried = 1 is known as soon as the retry arrives, a retried = 0 only a window (plus a sweep)
 * after its attempt ended, so once traffic stops the last labels are all 0s and a window read
 * then holds one class only. Returns the report once a window after the warm-up is full, and the
 * learning curve.
 */
async function driveUntilWindowFull(sibyl: SibylProcess): Promise<{ results: Map<string, PopulationResult>; measured: ModelView | undefined; curve: Sample[] }> {
  const curve: Sample[] = [];
  let sent = 0;
  let isDriving = true;
  let measured: ModelView | undefined;
  const sampler = (async () => {
    while (isDriving) {
      const view = await modelView(sibyl.adminUrl);
      curve.push(sampleOf(sent, view));
      if (view.quality.model.count >= QUALITY_WINDOW && view.labelled >= WARMUP_LABELS + QUALITY_WINDOW) measured = view;
      await sleep(200);
    }
  })();
  const results = await drivePopulations(sibyl.proxyUrl, POPULATIONS, {
    maxRequests: MAX_REQUESTS,
    maxDurationMs: MAX_DRIVE_MS,
    onProgress: (n) => (sent = n),
    isDone: () => measured !== undefined,
  }).finally(() => (isDriving = false));
  await sampler;
  return { results, measured, curve };
}

/** Every client retry labels its predecessor retried = 1 and nothing else does; attempt numbers count the chain. */
async function assertExactLabels(sibyl: SibylProcess, results: Map<string, PopulationResult>): Promise<void> {
  const sent = total(results, (r) => r.sent);
  const retries = total(results, (r) => r.retries);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_telemetry_labels_total', { retried: '1' }), retries);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_telemetry_labels_total', { retried: '0' }), sent - retries);
  for (const attempt of [1, 2, 3]) {
    const expected = total(results, (r) => r.byAttempt.get(attempt) ?? 0);
    assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_telemetry_attempts_total', { attempt: String(attempt) }), expected, `attempt ${attempt}`);
  }
}

/** The prediction Sibyl served (at response end) for the later half of the first attempts with this family and status. */
function servedPrediction(lines: readonly LabelledLine[], family: string, status: number): { mean: number; n: number } {
  const matching = lines.filter((l) => l.userAgentFamily === family && l.status === status && l.attempt === 1).sort((a, b) => (a.endedAtMs as number) - (b.endedAtMs as number));
  const later = matching.slice(Math.floor(matching.length / 2));
  return { mean: later.reduce((sum, l) => sum + l.prediction, 0) / later.length, n: later.length };
}

/** /predict_retry's input for a live event: every feature field Sibyl itself saw. */
function predictInput(l: LabelledLine): Record<string, unknown> {
  return {
    status_code: l.status, response_time_ms: l.latencyMs, bytes_sent: l.bytesOut, bytes_in: l.bytesIn, error_kind: l.errorKind, attempt: l.attempt, method: l.method,
    route: l.route, user_agent_family: l.userAgentFamily, client_retry_rate: l.clientRetryRate, client_label_count: l.clientLabelCount, backend: l.backend,
    backend_latency_ewma_ms: l.backendLatencyEwmaMs, backend_error_ewma: l.backendErrorEwma, backend_in_flight: l.backendInFlight,
  };
}

/**
 * The shipped prior already reads the client history well, so beating the baselines alone would not
 * show that anything was learned: the live model must also beat the prior, unchanged, on the very
 * events of the window (the sink writes labels in the order the learner takes them).
 */
function assertBeatsThePrior(t: TestContext, lines: readonly LabelledLine[], measured: ModelView, snapshot: ModelSnapshot): void {
  const window = lines.slice(measured.labelled - QUALITY_WINDOW, measured.labelled);
  const prior = createRetryModel({}, snapshot);
  const priorPs = window.map((l) => prior.predict(l as unknown as FeatureInput));
  const ys = window.map((l) => l.retried ?? 0); // the run is still going: every line here is labelled
  const priorLogLoss = logLoss(priorPs, ys);
  const { model } = measured.quality;
  t.diagnostic(`the shipped prior on the same window: AUC ${rocAuc(priorPs, ys)?.toFixed(3)}, log loss ${priorLogLoss.toFixed(3)}`);
  assert.equal(ys.filter((y) => y === 1).length / ys.length, model.positiveRate, 'the window read from the NDJSON is the one /api/model scored');
  // by a margin: the prior's log loss on this window varies from run to run (0.059-0.077 seen) and
  // the online model's ratio to it from 0.72 to 0.92, so 0.95 and not a tighter figure
  assert.ok(model.logLoss !== null && model.logLoss < 0.95 * priorLogLoss, `online log loss ${model.logLoss} vs the prior's ${priorLogLoss}`);
}

/** Returns the last okhttp first-attempt 503. */
async function assertPopulationsToldApart(t: TestContext, sibyl: SibylProcess, lines: readonly LabelledLine[]): Promise<LabelledLine> {
  const okhttpServed = servedPrediction(lines, 'okhttp', 503);
  const pythonServed = servedPrediction(lines, 'python', 503);
  t.diagnostic(`served P(retry) for later first-attempt 503s: okhttp ${okhttpServed.mean.toFixed(3)} (n ${okhttpServed.n}), python ${pythonServed.mean.toFixed(3)} (n ${pythonServed.n})`);
  assert.ok(okhttpServed.mean > 0.7, `okhttp 503s were served ${okhttpServed.mean}`);
  assert.ok(pythonServed.mean < 0.15, `python 503s were served ${pythonServed.mean}`);

  // /predict_retry, asked about the last 503 each population got, with everything Sibyl knew then
  const last = (family: string): LabelledLine => lines.findLast((l) => l.userAgentFamily === family && l.status === 503 && l.attempt === 1)!;
  const okhttp = await predictRetry(sibyl.adminUrl, predictInput(last('okhttp')));
  const python = await predictRetry(sibyl.adminUrl, predictInput(last('python')));
  t.diagnostic(`/predict_retry for the last 503 of each: okhttp ${okhttp.retry_probability.toFixed(3)}, python ${python.retry_probability.toFixed(3)} (model ${okhttp.model_version})`);
  assert.ok(okhttp.retry_probability > 0.7, `okhttp ${okhttp.retry_probability}`);
  assert.ok(okhttp.retry_probability - python.retry_probability > 0.5, `okhttp ${okhttp.retry_probability} should be clearly above python ${python.retry_probability}`);
  return last('okhttp');
}

test('the online model learns who retries what from live traffic and beats the per-status baseline', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-retry-online-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const eventsPath = join(dir, 'events.ndjson');
  const sibyl = await startOnlineSibyl(t, eventsPath);
  const startedAt = Date.now();
  const { results, measured, curve } = await driveUntilWindowFull(sibyl);
  const summary = describePopulations(results);
  t.diagnostic(`traffic: ${summary} in ${Date.now() - startedAt} ms`);
  t.diagnostic(`learning curve (sent/labelled: windowed AUC, log loss, per-status log loss): ${curve.map((s) => `${s.sent}/${s.learned}: ${s.auc?.toFixed(3)} ${s.logLoss?.toFixed(3)} ${s.perStatusLogLoss?.toFixed(3)}`).join(' | ')}`);
  assert.equal(total(results, (r) => r.errors.size), 0, `no transport errors: ${summary}`);
  for (const [name, r] of results) assert.ok(r.retries >= 50, `${name} retried too rarely to learn from: ${summary}`);

  assert.ok(measured !== undefined, `the quality window (${QUALITY_WINDOW} labels) did not fill within ${MAX_REQUESTS} requests / ${MAX_DRIVE_MS} ms: ${summary}`);
  t.diagnostic(`quality over the window after the first ${WARMUP_LABELS} labels: ${JSON.stringify(measured.quality)}`);
  const { model, baselines } = measured.quality;
  assert.ok(model.auc !== null && model.auc > 0.9, `progressive AUC ${model.auc} (per-status baseline ${baselines.perStatus.auc})`);
  assert.ok(model.logLoss !== null && baselines.perStatus.logLoss !== null && model.logLoss < baselines.perStatus.logLoss, `log loss ${model.logLoss} vs per-status baseline ${baselines.perStatus.logLoss}`);

  // every attempt is labelled once its window has passed (plus one sweep), then learned
  const sent = total(results, (r) => r.sent);
  await eventually(async () => {
    const v = await modelView(sibyl.adminUrl);
    return v.labelled >= sent && v.learnerBacklog === 0;
  }, 10_000);
  await assertExactLabels(sibyl, results);

  const lines = (await eventually(async () => {
    const read = await readLabelledEvents(eventsPath);
    return read.length >= sent ? read : undefined;
  }, 5_000))!;
  assertBeatsThePrior(t, lines, measured, await readSnapshotFile(SHIPPED_PRIOR_PATH));
  // the same status, opposite predictions for the two populations: as served, and as /predict_retry answers
  const last = await assertPopulationsToldApart(t, sibyl, lines);

  // Known gap, kept visible: without the client's own history only the user-agent family tells the
  // populations apart, and that is learned weakly: few examples come from clients without history,
  // the client history explains the rest, and the prior's coordinates move slowly.
  await t.test('a new client: an okhttp 503 is clearly likelier to be retried than a python 503', { todo: 'the user-agent family is learned only weakly next to the client history' }, async (st) => {
    const asked = { ...predictInput(last), client_retry_rate: undefined, client_label_count: undefined };
    const newOkhttp = await predictRetry(sibyl.adminUrl, { ...asked, user_agent_family: 'okhttp' });
    const newPython = await predictRetry(sibyl.adminUrl, { ...asked, user_agent_family: 'python' });
    st.diagnostic(`/predict_retry for a new client's 503: okhttp ${newOkhttp.retry_probability.toFixed(3)}, python ${newPython.retry_probability.toFixed(3)}`);
    assert.ok(newOkhttp.retry_probability - newPython.retry_probability > 0.3, `okhttp ${newOkhttp.retry_probability}, python ${newPython.retry_probability}`);
  });
});
