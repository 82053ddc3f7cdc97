// The README's first Quick start command: the demo starts, serves real traffic through Sibyl,
// prints where everything is and a running tally, and stops cleanly by itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { SIBYL_BIN } from '../helpers/sibyl-process.ts';

test('sibyl demo serves traffic, reports it, and exits 0', () => {
  const run = spawnSync(process.execPath, [SIBYL_BIN, 'demo', '--duration-seconds', '7'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(run.stdout, /proxy\s+http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(run.stdout, /metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
  assert.match(run.stdout, /health\s+http:\/\/127\.0\.0\.1:\d+\/health/);
  const tallies = run.stdout.split('\n').filter((l) => l.startsWith('[demo] sent'));
  assert.ok(tallies.length >= 2, run.stdout);
  const sent = Number(/\[demo\] sent (\d+)/.exec(tallies.at(-1) ?? '')?.[1]);
  assert.ok(sent > 100, `requests sent through Sibyl: ${sent}`);
  assert.match(run.stdout, /\[model\] \d+ labels learned/);
  assert.match(run.stdout, /\[rollout\] delta-v2: \w+, step \d\/4, canary \d+ % of traffic/);
  assert.match(run.stdout, /demo stopped\./);
});
