// Metric families of progressive delivery (pools, routes, rollouts), spread into the catalogue.
import { Counter, Gauge, type Registry } from 'prom-client';

export function createTrafficMetrics(r: Registry[]) {
  return {
    routedRequests: new Counter({ name: 'sibyl_traffic_requests_total', help: 'Requests routed, by the route that matched ("default" when none) and the pool chosen (after splits and rollouts).', labelNames: ['route', 'pool'] as const, registers: r }),
    poolEligibleBackends: new Gauge({ name: 'sibyl_traffic_pool_eligible_backends', help: 'Backends currently eligible for new requests, by pool.', labelNames: ['pool'] as const, registers: r }),
    poolPanicMode: new Gauge({ name: 'sibyl_traffic_pool_panic_mode', help: '1 while the pool has too few healthy backends and routes to all of them (panic mode), by pool.', labelNames: ['pool'] as const, registers: r }),
    rolloutCanaryWeight: new Gauge({ name: 'sibyl_traffic_rollout_canary_weight_percent', help: 'Share of the stable pool\'s traffic that the rollout sends to its canary pool, in percent.', labelNames: ['rollout'] as const, registers: r }),
    rolloutState: new Gauge({ name: 'sibyl_traffic_rollout_state', help: '1 for the rollout\'s current state (pending, progressing, paused, promoted, rolled_back, aborted).', labelNames: ['rollout', 'state'] as const, registers: r }),
    rolloutTransitions: new Counter({ name: 'sibyl_traffic_rollout_transitions_total', help: 'Rollout transitions, by rollout and event (started, step, paused, resumed, promoted, rolled_back, aborted, restored).', labelNames: ['rollout', 'event'] as const, registers: r }),
    rolloutAnalyses: new Counter({ name: 'sibyl_traffic_rollout_analyses_total', help: 'Canary analyses, by rollout and verdict (pass, fail, inconclusive = too few samples).', labelNames: ['rollout', 'verdict'] as const, registers: r }),
    blueGreenActive: new Gauge({ name: 'sibyl_traffic_blue_green_active', help: '1 for the side (blue, green) of each blue-green pair that is in service.', labelNames: ['name', 'side'] as const, registers: r }),
    blueGreenSwitches: new Counter({ name: 'sibyl_traffic_blue_green_switches_total', help: 'Blue-green switch attempts, by pair and result (switched, smoke_failed).', labelNames: ['name', 'result'] as const, registers: r }),
    experimentRequests: new Counter({ name: 'sibyl_traffic_experiment_requests_total', help: 'Requests of an experiment answered, by experiment, variant and outcome (success: status below 500 and no transport error; failure).', labelNames: ['experiment', 'variant', 'outcome'] as const, registers: r }),
    shadowRequests: new Counter({ name: 'sibyl_traffic_shadow_requests_total', help: 'Requests selected for shadowing, by shadow and result (sent; dropped: max_concurrency copies in flight; skipped_body: body over max_body_bytes or chunked; no_backend: no eligible shadow backend; error: the copy failed or timed out).', labelNames: ['shadow', 'result'] as const, registers: r }),
    shadowComparisons: new Counter({ name: 'sibyl_traffic_shadow_comparisons_total', help: 'Primary and shadow responses compared, by shadow and result (match, diff; incomplete: the primary or the copy did not finish).', labelNames: ['shadow', 'result'] as const, registers: r }),
    shadowDiffs: new Counter({ name: 'sibyl_traffic_shadow_diffs_total', help: 'Differences found, by shadow and kind (status, headers, body); one comparison may count several kinds.', labelNames: ['shadow', 'kind'] as const, registers: r }),
    shadowInFlight: new Gauge({ name: 'sibyl_traffic_shadow_in_flight', help: 'Shadow copies in flight, by shadow (bounded by max_concurrency).', labelNames: ['shadow'] as const, registers: r }),
    candidateScored: new Counter({ name: 'sibyl_model_candidate_scored_total', help: 'Responses the candidate model ([model_rollout]) scored beside the live model.', registers: r }),
    candidateDisagreements: new Counter({ name: 'sibyl_model_candidate_disagreements_total', help: 'Responses whose candidate and live predictions differ by more than [model_rollout] disagreement_threshold.', registers: r }),
    candidateState: new Gauge({ name: 'sibyl_model_candidate_state', help: '1 for the candidate model\'s state (shadow, canary, promoted, rolled_back).', labelNames: ['state'] as const, registers: r }),
    candidateLogLoss: new Gauge({ name: 'sibyl_model_candidate_log_loss', help: 'Progressive log loss on the same labelled events, by model (candidate, live).', labelNames: ['model'] as const, registers: r }),
    rolloutStateFileErrors: new Counter({ name: 'sibyl_traffic_state_file_errors_total', help: 'Failed reads or writes of [traffic] state_file; rollout state then lives only in memory until the next successful write.', registers: r }),
  };
}
