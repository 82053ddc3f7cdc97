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
  // the demo's pollers repeat after successes: Sibyl counts those as repeats, not as retries
  const counts = /sent \d+: (\d+) client retries, (\d+) repeats after a success; Sibyl recognised (\d+) retries and (\d+) repeats/.exec(tallies.at(-1) ?? '');
  assert.ok(counts !== null, tallies.at(-1));
  const [retriesSent, repeatsSent, retriesSeen, repeatsSeen] = counts.slice(1).map(Number) as [number, number, number, number];
  assert.ok(repeatsSent > 0 && repeatsSeen > 0, tallies.at(-1));
  // the tally is read while requests are in flight: a few may be counted on one side only
  assert.ok(Math.abs(retriesSeen - retriesSent) <= Math.max(3, 0.1 * retriesSent), tallies.at(-1));
  assert.ok(Math.abs(repeatsSeen - repeatsSent) <= Math.max(3, 0.1 * repeatsSent), tallies.at(-1));
  assert.match(run.stdout, /\[model\] \d+ labels learned/);
  assert.match(run.stdout, /\[rollout\] delta-v2: \w+, step \d\/4, canary \d+ % of traffic/);
  assert.match(run.stdout, /demo stopped\./);
});
