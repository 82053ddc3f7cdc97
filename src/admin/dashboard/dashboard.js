// Sibyl's live dashboard: polls GET api/dashboard once a second, keeps the last ~35 s of
// snapshots to turn cumulative counters into rates and percentiles, and draws them. It speaks only
// the admin HTTP API, with the bearer token the operator entered when one is configured.
import { createBackendsTable } from './backends.js';
import { barChart, COLOURS, timeChart } from './charts.js';
import { bucketShares, DASH, deltaBuckets, fixed, millis, percent, quantile, rate, ratio, windowStart } from './stats.js';

const POLL_MS = 1000;
const RATE_WINDOW_S = 5;
const LATENCY_WINDOW_S = 10;
const PREDICTION_WINDOW_S = 30;
const KEEP_S = 35;
const TOKEN_KEY = 'sibyl.adminToken';

const $ = (id) => document.getElementById(id);
const snapshots = [];
let token = takeToken();
let timer;

/** A token given as #token=... is kept for this tab and removed from the address bar (and history). */
function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match !== null) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

function api(path, method = 'GET') {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return fetch(path, { method, headers, cache: 'no-store' });
}

function askForToken(reason) {
  $('token-reason').textContent = reason;
  $('token-form').hidden = false;
  $('token-input').focus();
  setConnection('needs token', 'warn');
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token-input').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  $('token-form').hidden = true;
  poll();
});
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = undefined;
  poll();
});

function setConnection(text, tone) {
  const el = $('connection');
  el.textContent = text;
  el.className = `pill ${tone}`;
}

async function backendAction(name, action) {
  const res = await api(`api/backends/${encodeURIComponent(name)}/${action}`, 'POST').catch((err) => ({ ok: false, status: 0, statusText: err.message }));
  const el = $('action-error');
  el.hidden = res.ok;
  if (!res.ok) el.textContent = `${action} ${name} failed: ${res.status === 401 ? 'the admin token was refused' : `${res.status} ${res.statusText}`}`;
  await poll();
}

const backends = createBackendsTable(document.querySelector('#backends tbody'), backendAction);
const PREDICTION_LABELS = ['.05', '.1', '.2', '.3', '.4', '.5', '.6', '.7', '.8', '.9', '.95', '1'];
const perSecond = (v) => fixed(v, v < 10 ? 1 : 0);
const charts = {
  requests: timeChart($('chart-requests'), [{ label: 'requests' }, { label: '5xx' }, { label: 'client retries', colour: COLOURS[4] }], { format: perSecond }),
  latency: timeChart($('chart-latency'), [{ label: 'p50' }, { label: 'p99' }], { format: millis }),
  errors: timeChart($('chart-errors'), [{ label: '5xx share', colour: COLOURS[2] }, { label: 'client retry share', colour: COLOURS[4] }], { format: (v) => percent(v, 0), floor: 0.05 }),
  amplification: timeChart($('chart-amplification'), [{ label: 'attempts per request' }], { format: (v) => fixed(v, 2), range: (_u, _min, max) => [1, Math.max(1.2, (max ?? 1) * 1.05)] }),
  predictions: barChart($('chart-predictions'), PREDICTION_LABELS, 'share of responses'),
  auc: timeChart($('chart-auc'), [{ label: 'live model' }, { label: 'status ≥ 500' }, { label: 'per-status rate' }], { format: (v) => fixed(v, 3), range: (_u, min) => [Math.max(0, Math.floor(((min ?? 0.5) - 0.02) * 20) / 20), 1] }),
  logLoss: timeChart($('chart-logloss'), [{ label: 'live model' }, { label: 'status ≥ 500' }, { label: 'per-status rate' }], { format: (v) => fixed(v, 3), floor: 0.1 }),
  defences: timeChart($('chart-defences'), [{ label: 'shed' }, { label: 'paced 503' }, { label: "Sibyl's retries", colour: COLOURS[3] }, { label: 'budget exhausted', colour: COLOURS[2] }], { format: perSecond }),
};
new ResizeObserver(() => Object.values(charts).forEach((c) => c.resize())).observe(document.querySelector('main'));

/** One poll at a time: a poll asked for while one runs (after a drain click) follows it at once. */
let running;
let isQueued = false;
async function poll() {
  if (running !== undefined) {
    isQueued = true;
    return running;
  }
  clearTimeout(timer);
  running = pollOnce();
  const isLive = await running;
  running = undefined;
  if (isQueued) {
    isQueued = false;
    return poll();
  }
  // while the page waits for a token, it stops asking
  if (isLive) timer = setTimeout(poll, POLL_MS);
}

async function pollOnce() {
  try {
    const res = await api('api/dashboard');
    if (res.status === 401) {
      $('forget-token').hidden = true;
      askForToken(token === undefined ? "This Sibyl's admin API needs its bearer token ([admin] token)." : 'That token was refused: enter the current one.');
      return false;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    $('forget-token').hidden = token === undefined;
    setConnection(`live · ${new Date().toLocaleTimeString()}`, 'good');
  } catch (err) {
    setConnection(`disconnected: ${err.message}`, 'bad');
  }
  return true;
}

function render(s) {
  const previous = snapshots[snapshots.length - 1];
  // a restarted Sibyl starts its counters again: rates across the restart would be nonsense
  if (previous !== undefined && s.totals.clientRequests < previous.totals.clientRequests) snapshots.length = 0;
  snapshots.push(s);
  while (snapshots.length > 0 && s.atMs - snapshots[0].atMs > KEEP_S * 1000) snapshots.shift();
  const from = windowStart(snapshots, RATE_WINDOW_S);
  const t = (x) => x.totals;
  const responses = (x) => Object.values(x.totals.responses).reduce((a, b) => a + b, 0);
  const decision = (name) => (x) => x.totals.retryDecisions[name] ?? 0;
  const x = s.atMs / 1000;

  renderHeader(s);
  const rps = new Map(s.backends.map((b) => [b.name, rate(from, s, (y) => y.backends.find((c) => c.name === b.name)?.requests ?? 0)]));
  backends.update(s.backends, rps);

  const requestRate = rate(from, s, (y) => t(y).clientRequests);
  const errorShare = ratio(from, s, (y) => t(y).responses['5xx'] ?? 0, responses);
  const retryShare = ratio(from, s, (y) => t(y).clientRetries, (y) => t(y).clientRequests);
  const amplification = ratio(from, s, (y) => t(y).backendAttempts, (y) => t(y).clientRequests);
  const latencyFrom = windowStart(snapshots, LATENCY_WINDOW_S);
  const latency = latencyFrom === undefined ? [] : deltaBuckets(latencyFrom.latencySeconds, s.latencySeconds);
  const [p50, p99] = [0.5, 0.99].map((q) => (latencyFrom === undefined ? null : quantile(q, s.latencySeconds.le, latency)));
  const [p50ms, p99ms] = [p50, p99].map((v) => (v === null ? null : v * 1000));
  charts.requests.push(x, [requestRate, rate(from, s, (y) => t(y).responses['5xx'] ?? 0), rate(from, s, (y) => t(y).clientRetries)]);
  charts.latency.push(x, [p50ms, p99ms]);
  charts.errors.push(x, [errorShare, retryShare]);
  charts.amplification.push(x, [amplification]);
  $('kpi-rps').textContent = perSecond(requestRate);
  $('kpi-requests').textContent = `${s.totals.clientRequests.toLocaleString()} since start`;
  $('kpi-errors').textContent = percent(errorShare);
  $('kpi-latency').textContent = `${millis(p50ms)} / ${millis(p99ms)}`;
  $('kpi-amplification').textContent = fixed(amplification, 2);
  $('kpi-retries').textContent = percent(retryShare);

  renderModel(s, x);

  const shed = (y) => Object.values(t(y).shed).reduce((a, b) => a + b, 0);
  const shedRate = rate(from, s, shed);
  const pacedRate = rate(from, s, (y) => t(y).paced);
  const ownRetries = rate(from, s, decision('retried'));
  const exhausted = rate(from, s, decision('budget_exhausted'));
  charts.defences.push(x, [shedRate, pacedRate, ownRetries, exhausted]);
  renderDefences(s, { shedRate, pacedRate, ownRetries, exhausted });
  renderEvents(s.recentEvents);
}

function renderHeader(s) {
  const pool = $('pool-status');
  pool.textContent = `pool ${s.pool.status}${s.pool.isPanic ? ' (panic mode)' : ''}`;
  pool.className = `pill ${s.pool.status === 'ok' ? 'good' : s.pool.status === 'degraded' ? 'warn' : 'bad'}`;
  $('pool-detail').textContent = `${s.pool.eligible} of ${s.pool.total} eligible${s.pool.isReady ? '' : ' · not ready'}`;
  const storm = $('storm-state');
  storm.textContent = `storm: ${s.storm.state}`;
  storm.className = `pill ${s.storm.state === 'healthy' ? 'good' : s.storm.state === 'degraded' ? 'warn' : 'bad'}`;
  $('generation').textContent = String(s.configGeneration);
  $('strategy').textContent = s.strategy;
  const reload = s.lastReload;
  const el = $('last-reload');
  const at = new Date(reload.atIso).toLocaleTimeString();
  el.textContent = reload.ok ? `last reload ok at ${at}` : `last reload REJECTED at ${at}: ${reload.problems[0] ?? ''}${reload.problems.length > 1 ? ` (+${reload.problems.length - 1} more)` : ''}`;
  el.className = reload.ok ? 'meta' : 'pill bad';
  el.title = reload.problems.join('\n');
}

function renderModel(s, x) {
  const model = s.model;
  if (model === null) {
    $('model-meta').textContent = 'retry intelligence is off ([telemetry] enabled = false)';
    return;
  }
  const q = model.quality;
  $('model-meta').textContent = `${model.modelVersion} · ${model.learned.toLocaleString()} labels learned · quality over the last ${q.model.count.toLocaleString()} · learner backlog ${model.learnerBacklog}`;
  $('kpi-auc').textContent = fixed(q.model.auc, 3);
  $('kpi-auc-baseline').textContent = `per-status baseline ${fixed(q.baselines.perStatus.auc, 3)}`;
  charts.auc.push(x, [q.model.auc, q.baselines.status5xx.auc, q.baselines.perStatus.auc]);
  charts.logLoss.push(x, [q.model.logLoss, q.baselines.status5xx.logLoss, q.baselines.perStatus.logLoss]);
  const from = windowStart(snapshots, PREDICTION_WINDOW_S);
  if (from !== undefined) charts.predictions.set(bucketShares(deltaBuckets(from.predictedRetryProbability, s.predictedRetryProbability)));
}

function renderDefences(s, r) {
  const p = s.protect;
  const shed = s.totals.shed;
  $('def-shed').textContent = p.isLoadShedding ? perSecond(r.shedRate) : 'off';
  $('def-shed-detail').textContent = p.isLoadShedding ? `queue full ${shed.queue_full ?? 0}, deadline ${shed.deadline ?? 0} since start` : '[load_shedding] enabled = false';
  $('def-paced').textContent = perSecond(r.pacedRate);
  $('def-queue').textContent = p.isLoadShedding ? String(p.queueLength) : DASH;
  $('def-queue-detail').textContent = p.isLoadShedding ? `deadline ${millis(p.queueDeadlineMs)} · ${s.totals.queueAbandoned} abandoned` : 'no queue without load shedding';
  $('def-retries').textContent = perSecond(r.ownRetries);
  $('def-retries-detail').textContent = `budget exhausted ${perSecond(r.exhausted)} / s`;
  $('def-budget').textContent = `${fixed(p.retryBudgetAvailable, 0)} left`;
  $('def-budget-detail').textContent = `retries ≤ ${percent(p.retryBudgetRatio, 0)} of requests + a floor`;
  const st = s.storm;
  $('def-storm').textContent = st.state;
  $('def-storm').className = st.state === 'healthy' ? '' : st.state === 'degraded' ? 'warn-text' : 'bad-text';
  $('def-storm-detail').textContent = `success ${percent(st.successRatio, 0)} · retries ${percent(st.retryShare, 0)} · first attempts ${fixed(st.firstAttemptRate, 1)}/s (usual ${fixed(st.baselineFirstAttemptRate, 1)})`;
}

function renderEvents(events) {
  const list = $('events');
  const items = events.map((e) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = e.atIso;
    time.textContent = new Date(e.atIso).toLocaleTimeString();
    li.append(time, `${e.backend} ${e.event}${e.detail === undefined ? '' : ` (${e.detail})`}`);
    return li;
  });
  if (items.length === 0) items.push(Object.assign(document.createElement('li'), { textContent: 'none yet: drains, ejections and health changes show here' }));
  list.replaceChildren(...items);
}

poll();
