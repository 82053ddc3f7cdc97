// The catalogue of every metric family Sibyl exports. docs/metrics.md is generated from it.
// Names follow sibyl_<subsystem>_<name>_<unit>; counters end in _total.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createDiscoveryMetrics, createTcpMetrics } from './discovery-tcp-metrics.ts';
import { createTrafficMetrics } from './traffic-metrics.ts';
import { createProtocolMetrics } from './catalogue-protocols.ts';

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { collectProcessMetrics?: boolean } = {}) {
  const registry = new Registry();
  const r = [registry];
  const m = {
    registry,
    requests: new Counter({ name: 'sibyl_proxy_requests_total', help: 'Requests answered by the proxy, by backend and status class.', labelNames: ['backend', 'status_class'], registers: r }),
    requestDuration: new Histogram({ name: 'sibyl_proxy_request_duration_seconds', help: 'Time from request start to the end of the response, by backend.', labelNames: ['backend'], buckets: LATENCY_BUCKETS_SECONDS, registers: r }),
    inFlight: new Gauge({ name: 'sibyl_proxy_in_flight_requests', help: 'Requests in flight to each backend.', labelNames: ['backend'], registers: r }),
    connections: new Gauge({ name: 'sibyl_proxy_open_connections', help: 'Open client connections.', registers: r }),
    connectionsRejected: new Counter({ name: 'sibyl_proxy_connections_rejected_total', help: 'Client connections refused because max_connections was reached.', registers: r }),
    connectionsPerIpRejected: new Counter({ name: 'sibyl_proxy_connections_per_ip_rejected_total', help: 'Client connections closed at accept because their client IP already had [proxy] max_connections_per_ip open.', registers: r }),
    idleTimeouts: new Counter({ name: 'sibyl_proxy_idle_timeouts_total', help: 'Client keep-alive connections closed because they stayed idle longer than [proxy] keep_alive_timeout.', registers: r }),
    limitRejections: new Counter({ name: 'sibyl_proxy_limit_rejections_total', help: 'Requests refused by a limit (header_size, url_length, body_size, client_timeout, bad_request, bad_host, not_a_proxy).', labelNames: ['limit'], registers: r }),
    upstreamErrors: new Counter({ name: 'sibyl_proxy_upstream_errors_total', help: 'Attempts that got no valid response from a backend, by error kind.', labelNames: ['backend', 'error_kind'], registers: r }),
    internalErrors: new Counter({ name: 'sibyl_internal_errors_total', help: 'Exceptions (bugs) contained by a request-scoped failure boundary, by the site that caught them (handler, body, coalesce, queue, exchange, retry, upgrade, connect, client_error, admin): the request was answered 500 SIBYL_ERR_INTERNAL (or cut, once its response had started) and the process kept serving.', labelNames: ['site'] as const, registers: r }),
    noBackend: new Counter({ name: 'sibyl_proxy_no_backend_total', help: 'Requests answered 503 because no backend was eligible.', registers: r }),
    websocketUpgrades: new Counter({ name: 'sibyl_proxy_websocket_upgrades_total', help: 'WebSocket upgrades, by result: ok (the backend answered the handshake), limited (rate limit, 429), shed (503), timeout (connect or handshake answer timed out), error (anything else refused or failed).', labelNames: ['result'], registers: r }),
    backendHealthy: new Gauge({ name: 'sibyl_backend_healthy', help: '1 when the backend passes active health checks.', labelNames: ['backend'], registers: r }),
    backendEjected: new Gauge({ name: 'sibyl_backend_ejected', help: '1 while the outlier detector has the backend ejected.', labelNames: ['backend'], registers: r }),
    backendDraining: new Gauge({ name: 'sibyl_backend_draining', help: '1 while the backend is drained by an operator.', labelNames: ['backend'], registers: r }),
    backendWeight: new Gauge({ name: 'sibyl_backend_effective_weight', help: 'Effective weight (configured weight x slow-start ramp).', labelNames: ['backend'], registers: r }),
    backendLatencyEwma: new Gauge({ name: 'sibyl_backend_latency_ewma_seconds', help: 'Peak-EWMA of backend response latency.', labelNames: ['backend'], registers: r }),
    backendErrorEwma: new Gauge({ name: 'sibyl_backend_error_ewma_ratio', help: 'EWMA of the backend failure ratio (5xx and transport errors).', labelNames: ['backend'], registers: r }),
    healthChecks: new Counter({ name: 'sibyl_health_checks_total', help: 'Active health check results, by backend and result (success, failure).', labelNames: ['backend', 'result'], registers: r }),
    healthTransitions: new Counter({ name: 'sibyl_health_transitions_total', help: 'Backend health state changes, by backend and new state.', labelNames: ['backend', 'state'], registers: r }),
    healthEventsDropped: new Counter({ name: 'sibyl_health_events_dropped_total', help: 'Health events evicted from the recent-events ring ([runtime] health_cap).', registers: r }),
    ejections: new Counter({ name: 'sibyl_outlier_ejections_total', help: 'Outlier ejections, by backend.', labelNames: ['backend'], registers: r }),
    panicMode: new Gauge({ name: 'sibyl_pool_panic_mode', help: '1 while too few backends of the default pool are healthy and it routes to all of them (panic mode; every pool: sibyl_traffic_pool_panic_mode).', registers: r }),
    eligibleBackends: new Gauge({ name: 'sibyl_pool_eligible_backends', help: 'Backends of the default pool currently eligible for new requests (every pool: sibyl_traffic_pool_eligible_backends).', registers: r }),
    configReloads: new Counter({ name: 'sibyl_config_reloads_total', help: 'Config reloads applied successfully.', registers: r }),
    configReloadFailures: new Counter({ name: 'sibyl_config_reload_failures_total', help: 'Config reloads rejected because the new config was invalid.', registers: r }),
    configGeneration: new Gauge({ name: 'sibyl_config_generation', help: 'Number of the config generation in service.', registers: r }),
    accessLogDropped: new Counter({ name: 'sibyl_log_access_dropped_total', help: 'Access log lines dropped because the buffer ([runtime] access_log_buffer lines) was full.', registers: r }),
    retryDecisions: new Counter({ name: 'sibyl_retry_decisions_total', help: 'Failed attempts and what Sibyl did: retried, or the reason it did not (not_retryable_outcome, method_not_idempotent, body_not_replayable, response_started, max_retries, no_other_backend, budget_exhausted, client_gone).', labelNames: ['decision'], registers: r }),
    backendAttempts: new Counter({ name: 'sibyl_retry_backend_attempts_total', help: 'Attempts sent to backends (first attempts and Sibyl\'s retries).', registers: r }),
    amplification: new Gauge({ name: 'sibyl_retry_amplification', help: 'Backend attempts per client request over the last [metrics] interval (1 = no retries by Sibyl).', registers: r }),
    clientRetryShare: new Gauge({ name: 'sibyl_retry_client_retry_ratio', help: 'Share of client requests over the last [metrics] interval that were client retries (re-sent after a failure; repeats after a success are not counted).', registers: r }),
    shed: new Counter({ name: 'sibyl_protect_shed_total', help: 'Requests shed with 503 + Retry-After because every backend was at its concurrency limit, by reason (queue_full, deadline).', labelNames: ['reason'], registers: r }),
    queueAbandoned: new Counter({ name: 'sibyl_protect_queue_abandoned_total', help: 'Queued requests dropped because their client went away before a slot freed.', registers: r }),
    clientGiveUps: new Counter({ name: 'sibyl_protect_client_give_ups_total', help: 'Clients that disconnected before their answer, by what the patience estimator took them for: sample (a give-up that sets the queue deadline), burst (one of many disconnects at once: a pool closing), too_early (sooner than the backend could have answered).', labelNames: ['taken_as'], registers: r }),
    queueLength: new Gauge({ name: 'sibyl_protect_queue_length', help: 'Requests waiting in Sibyl for a backend slot.', registers: r }),
    queueDeadline: new Gauge({ name: 'sibyl_protect_queue_deadline_seconds', help: 'Current queue deadline: three quarters of the learned client patience (its impatient tail), bounded by [load_shedding] max_queue_wait.', registers: r }),
    concurrencyLimit: new Gauge({ name: 'sibyl_protect_concurrency_limit', help: 'Learned concurrency limit of each backend.', labelNames: ['backend'], registers: r }),
    noLoadLatency: new Gauge({ name: 'sibyl_protect_no_load_latency_seconds', help: 'No-load latency the concurrency limiter learned for each backend (its fastest answer under light load); a round whose fastest answer exceeds [load_shedding] tolerance times it shrinks the limit. Absent until learned.', labelNames: ['backend'], registers: r }),
    eventLoopLag: new Gauge({ name: 'sibyl_protect_event_loop_lag_seconds', help: 'This process\'s recent event-loop lag (worst callback delay of the last ~100 ms) as the concurrency limiter sees it: answers seen with a lag above a quarter of the no-load latency are skipped.', registers: r }),
    waste: new Counter({ name: 'sibyl_protect_waste_total', help: 'Backend attempts cut because their client had already gone: work done for nobody.', registers: r }),
    stormState: new Gauge({ name: 'sibyl_protect_storm_state', help: 'Metastability detector: 1 for the current state (healthy, degraded, metastable = trigger gone, goodput low, retries sustaining).', labelNames: ['state'], registers: r }),
    coalesced: new Counter({ name: 'sibyl_protect_coalesced_total', help: 'Requests that waited for an identical request in flight: outcome served (got its response, no backend attempt) or sent (the original failed or was too large, sent as usual).', labelNames: ['outcome'] as const, registers: r }),
    rateLimitRequests: new Counter({ name: 'sibyl_protect_rate_limit_requests_total', help: 'Requests checked by a rate limit, by limit and decision: allowed, limited (429), unavailable (503: a shared limit with [shared] fail_mode = "closed" while Redis is unreachable).', labelNames: ['limit', 'decision'] as const, registers: r }),
    rateLimitEvictions: new Counter({ name: 'sibyl_protect_rate_limit_evictions_total', help: 'Keys a rate limit forgot, by reason: size (max_keys reached, least recently used first) or ttl (idle longer than key_ttl).', labelNames: ['limit', 'reason'] as const, registers: r }),
    rateLimitKeys: new Gauge({ name: 'sibyl_protect_rate_limit_keys', help: 'Keys (token buckets) each rate limit remembers.', labelNames: ['limit'] as const, registers: r }),
    sharedRedisUp: new Gauge({ name: 'sibyl_shared_redis_up', help: '1 while the last sync with [shared] redis_url succeeded; 0 while Redis is unreachable and shared limits follow [shared] fail_mode.', registers: r }),
    sharedSyncs: new Counter({ name: 'sibyl_shared_syncs_total', help: 'Syncs of shared state, by kind (rate_limits: one batched report of the limits; model: one merge of the retry model), store (redis: [shared] redis_url, across instances; workers: across the workers of serve --workers N) and result (ok, error).', labelNames: ['kind', 'store', 'result'] as const, registers: r }),
    sharedSyncDuration: new Histogram({ name: 'sibyl_shared_sync_duration_seconds', help: 'Round-trip time of one batched sync of shared rate limits with Redis.', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: r }),
    paced: new Counter({ name: 'sibyl_retry_paced_total', help: 'Responses Sibyl answered itself (503 no backend) with a jittered Retry-After sized from the pool\'s recovery and the predicted retry probability.', registers: r }),
    retryBudgetAvailable: new Gauge({ name: 'sibyl_retry_budget_available', help: 'Retries the budget would allow right now.', registers: r }),
    telemetryEvents: new Counter({ name: 'sibyl_telemetry_events_total', help: 'Attempt events recorded (one per finished attempt).', registers: r }),
    attempts: new Counter({ name: 'sibyl_telemetry_attempts_total', help: 'Requests by attempt number as Sibyl recognised them (1, 2, 3, 4+): attempts above 1 are client retries.', labelNames: ['attempt'], registers: r }),
    labels: new Counter({ name: 'sibyl_telemetry_labels_total', help: 'Retry labels produced, by value: retried = 1 or 0, or unknown (still waiting for the retry window at shutdown, or pushed out to bound memory; never learned from).', labelNames: ['retried'], registers: r }),
    repeats: new Counter({ name: 'sibyl_telemetry_repeats_total', help: 'Requests that re-sent a request which had succeeded within the retry window (or that a retry marker says are first attempts): repeats, not client retries.', registers: r }),
    labellerEvictions: new Counter({ name: 'sibyl_telemetry_label_evictions_total', help: 'Attempts never labelled because their (client key, fingerprint) entry was evicted ([telemetry] max_tracked).', registers: r }),
    trackedKeys: new Gauge({ name: 'sibyl_telemetry_tracked_keys', help: '(client key, fingerprint) pairs remembered for labelling.', registers: r }),
    telemetryDropped: new Counter({ name: 'sibyl_telemetry_dropped_total', help: 'Labelled events dropped because a queue was full, by queue (learner, sink, candidate).', labelNames: ['queue'], registers: r }),
    sinkErrors: new Counter({ name: 'sibyl_telemetry_sink_errors_total', help: 'Failed writes of the NDJSON telemetry file.', registers: r }),
    modelUpdates: new Counter({ name: 'sibyl_model_updates_total', help: 'Labelled events the online model learned from.', registers: r }),
    learnerBacklog: new Gauge({ name: 'sibyl_model_learner_backlog_events', help: 'Labelled events waiting for the learner; a growing backlog means the learner falls behind.', registers: r }),
    modelQuality: new Gauge({ name: 'sibyl_model_quality', help: 'Progressive-validation quality over the last [model] quality_window labels, by model (live, baseline_status5xx, baseline_per_status) and metric (auc, log_loss, brier, ece, positive_rate).', labelNames: ['model', 'metric'], registers: r }),
    predictions: new Histogram({ name: 'sibyl_model_predicted_retry_probability', help: 'Distribution of the retry probability predicted for each response sent (attempts whose client left before the answer have their prediction in the telemetry only).', buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95], registers: r }),
    ...createDiscoveryMetrics(r),
    ...createTcpMetrics(r),
    ...createTrafficMetrics(r),
    ...createProtocolMetrics(r),
    snapshotFailures: new Counter({ name: 'sibyl_model_snapshot_failures_total', help: 'Model snapshots that could not be saved.', registers: r }),
  };
  if (options.collectProcessMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sibyl_process_' });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

export function statusClass(status: number): string {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}
