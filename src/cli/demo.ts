// `sibyl demo`: three built-in backends (one flaky), Sibyl in front of them, and steady real
// traffic; prints where everything is and a running tally. Ctrl-C stops it all cleanly.
import { parseConfigText } from '../config/load.ts';
import { mathRng } from '../core/rng.ts';
import { startDemoBackend } from '../demo/demo-backend.ts';
import { startTraffic } from '../demo/traffic.ts';
import { startInstance } from './start-instance.ts';
import { exitAfterShutdown } from './serve.ts';
import { createLogger } from '../log/logger.ts';

function demoConfig(ports: number[], proxyPort: number, adminPort: number): string {
  const backends = ['alpha', 'beta', 'gamma-flaky']
    .map((name, i) => `[[backends]]\nname = "${name}"\naddress = "127.0.0.1:${ports[i]}"\nweight = 1\n`)
    .join('\n');
  // a new version rolled out as a canary: 10, 25, 50, then 100 % of traffic, each step held for
  // 20 s and checked every 5 s against the stable pool's limits (rolled back if it fails)
  const canary = `
[[pools]]
name = "v2"
[[pools.backends]]
name = "delta-v2"
address = "127.0.0.1:${ports[3]}"

[[rollouts]]
name = "delta-v2"
stable = "default"
canary = "v2"
steps = [10, 25, 50, 100]
step_duration = "20s"
analysis_interval = "5s"
min_samples = 10
`;
  return `
[proxy]
listen_address = "127.0.0.1:${proxyPort}"

[admin]
listen_address = "127.0.0.1:${adminPort}"

[strategy]
algorithm = "power_of_two"

[health]
interval = "2s"
timeout = "1s"

[outlier_detection]
consecutive_5xx = 6
base_ejection_time = "3s"

[log]
level = "error"
access_log = false

[retry]
window = "2s"

${backends}
${canary}`;
}

export async function demoCommand(options: { port?: string; adminPort?: string; rate?: string; durationSeconds?: string }): Promise<void> {
  const backends = await Promise.all([
    startDemoBackend({ name: 'alpha', latencyMs: 2 }, mathRng),
    // a few 503s: Sibyl retries those itself on another backend, the clients never see them
    startDemoBackend({ name: 'beta', latencyMs: 8, failureRate: 0.05, failureStatus: 503 }, mathRng),
    // 500s: Sibyl does not retry them itself (retry_on_statuses is 502/503/504), so clients see them
    startDemoBackend({ name: 'gamma-flaky', latencyMs: 3, failureRate: 0.3, failureStatus: 500 }, mathRng),
    // the new version, rolled out as a canary
    startDemoBackend({ name: 'delta-v2', latencyMs: 4 }, mathRng),
  ]);
  const parsed = parseConfigText(demoConfig(backends.map((b) => b.port), Number(options.port ?? 0), Number(options.adminPort ?? 0)), 'demo', {});
  if (!parsed.ok) throw new Error(`demo config invalid: ${JSON.stringify(parsed.problems)}`);
  const instance = await startInstance(parsed.config, { configPath: undefined, env: {}, logger: createLogger('error') });
  const proxyUrl = `http://127.0.0.1:${instance.proxyAddress.port}`;
  const adminUrl = `http://127.0.0.1:${instance.adminAddress?.port}`;
  const traffic = startTraffic(proxyUrl, { ratePerSecond: Number(options.rate ?? 40), concurrency: 8 });
  process.stdout.write(
    [
      'Sibyl demo: three backends (alpha; beta answers 5 % 503, which Sibyl retries itself; gamma-flaky answers 30 % 500),',
      'strategy power_of_two, ~40 req/s of traffic',
      'from three client populations: okhttp clients retry a 5xx up to twice, python clients never retry,',
      'go clients poll (after a success they fetch the same URL again: a repeat, not a retry).',
      'Sibyl tells retries from repeats, labels them and learns online which responses get retried.',
      'A new version (pool v2, backend delta-v2) is rolled out as a canary: 10, 25, 50, 100 %, 20 s a step.',
      `  dashboard ${adminUrl}/            open it in a browser: live backends, charts, defences, drain buttons`,
      `  proxy     ${proxyUrl}/            try: curl -i ${proxyUrl}/hello`,
      `  metrics   ${adminUrl}/metrics`,
      `  health    ${adminUrl}/health  ${adminUrl}/health/ready  ${adminUrl}/health/detailed`,
      `  backends  ${adminUrl}/api/backends   drain one: curl -X POST ${adminUrl}/api/backends/beta/drain`,
      `  model     ${adminUrl}/api/model   ask it: curl -XPOST ${adminUrl}/predict_retry -d '{"status_code":503,"user_agent_family":"okhttp"}'`,
      `  rollout   ${adminUrl}/api/rollouts   pause it: curl -X POST ${adminUrl}/api/rollouts/delta-v2/pause`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const ticker = setInterval(() => {
    const t = traffic.tally;
    const statuses = [...t.byStatus].map(([s, n]) => `${s}:${n}`).join(' ');
    const shares = [...t.byBackend].map(([b, n]) => `${b} ${Math.round((100 * n) / Math.max(1, t.sent))}%`).join(', ');
    const states = instance.runtime.current.backends.map((b) => `${b.id}${b.isEjected ? '(ejected)' : ''}${b.isDraining ? '(draining)' : ''}${b.isHealthy ? '' : '(unhealthy)'}`).join(' ');
    const own = instance.runtime.tally.backendAttempts - instance.runtime.tally.clientRequests;
    const seen = instance.runtime.tally;
    process.stdout.write(`[demo] sent ${t.sent}: ${t.retriesSent} client retries, ${t.repeatsSent} repeats after a success; Sibyl recognised ${seen.clientRetries} retries and ${seen.clientRepeats} repeats, and retried ${Math.max(0, own)} itself\n`);
    process.stdout.write(`[demo] status ${statuses}  served by: ${shares}  backends: ${states}  storm: ${instance.runtime.storm.state}\n`);
    for (const r of instance.runtime.delivery.rollouts.views()) {
      process.stdout.write(`[rollout] ${r.name}: ${r.phase}, step ${r.step}/${r.steps.length}, canary ${r.canaryPercent} % of traffic${r.reason === undefined ? '' : ` (${r.reason})`}\n`);
    }
    const model = instance.runtime.retry?.report();
    if (model !== undefined) {
      const q = model.quality;
      const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
      // what the model predicted for the failures each client family got, against what it then did
      const families = model.failuresByUserAgentFamily.map((r) => `${r.family} ${r.meanPrediction.toFixed(2)}, now ${r.recentMeanPrediction.toFixed(2)} (retried ${r.retryRate.toFixed(2)} of ${r.failures})`).join(', ');
      process.stdout.write(
        `[model] ${model.learned} labels learned; live AUC ${f(q.model.auc)} log loss ${f(q.model.logLoss)} (per-status baseline: AUC ${f(q.baselines.perStatus.auc)} log loss ${f(q.baselines.perStatus.logLoss)})\n` +
          `[model] P(retry) predicted for the 5xx each client family got: ${families === '' ? 'none labelled yet' : families}\n`,
      );
    }
  }, 3000);
  if (options.durationSeconds !== undefined) {
    setTimeout(() => process.kill(process.pid, 'SIGINT'), Number(options.durationSeconds) * 1000);
  }
  exitAfterShutdown(instance, () => 10_000, {
    beforeDrain: async () => {
      clearInterval(ticker);
      await traffic.stop();
    },
    afterDrain: async () => {
      await Promise.all(backends.map((b) => b.close()));
      process.stdout.write('demo stopped.\n');
    },
  });
}
