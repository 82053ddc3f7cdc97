// Sibyl's client-retry labels against what real HTTP client libraries did (bench/retry-identity, quick
// mode): on the flaky_5xx profile every response a client received must carry a prediction, Sibyl's
// `retried` label must agree with the libraries' own attempts, and no success may be labelled retried
// (none of these clients retries a 2xx: a re-send after a success is a repeat).
import assert from 'node:assert/strict';
import { test } from 'node:test';

const CLIENT_PACKAGES = ['got', 'axios', 'axios-retry', 'ky', 'undici', 'p-retry', 'fetch-retry', '@aws-sdk/client-dynamodb'] as const;

/** false when every client library is installed, else a skip reason; under CI=true a missing one is a failure. */
async function skipUnlessClientLibraries(): Promise<false | string> {
  const missing: string[] = [];
  for (const name of CLIENT_PACKAGES) {
    try {
      await import(name);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length === 0) return false;
  const message = `client libraries not installed: ${missing.join(', ')} (npm ci installs them)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.warn(`\n!!! SKIPPING retry-identity: ${message} !!!\n`);
  return `SKIPPED: ${message}`;
}

test('flaky_5xx: Sibyl predicts every response and labels retries as the client libraries made them', { skip: await skipUnlessClientLibraries(), timeout: 120_000 }, async (t) => {
  const { runRetryIdentity } = await import('../../bench/retry-identity/run.ts');
  const lines: string[] = [];
  const result = await runRetryIdentity({ isQuick: true, log: (line) => lines.push(line) });
  t.diagnostic(lines.join('\n'));
  const flaky = result.profiles.find((p) => p.name === 'flaky_5xx');
  assert.ok(flaky !== undefined, 'the quick run has a flaky_5xx profile');
  const s = flaky.score;
  assert.ok(s.responses > 200, `enough responses to judge (${s.responses})`);
  assert.ok((s.coverage ?? 0) >= 0.99, `coverage ${s.coverage} >= 0.99 (${s.predicted} of ${s.responses} responses have a prediction)`);
  assert.ok(
    (s.agreement ?? 0) >= 0.95,
    `label agreement ${s.agreement} >= 0.95 (${s.labelled} labelled, ${s.nullLabels} null; Sibyl labelled ${s.sibylRetried} retried, the libraries retried ${s.positives})`,
  );
  const successes = result.profiles.reduce((n, p) => n + p.score.successesLabelledRetried, 0);
  assert.equal(successes, 0, `${successes} successful responses labelled retried`);
});
