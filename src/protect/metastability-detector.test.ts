import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetastabilityDetector } from './metastability-detector.ts';

function run(windows: [firstAttempts: number, retries: number, successes: number, isCapacityNominal: boolean][]) {
  const d = new MetastabilityDetector();
  return windows.map(([firstAttempts, retries, successes, isCapacityNominal], i) => d.observe({ firstAttempts, retries, successes, isCapacityNominal }, (i + 1) * 1000).state);
}

const healthy = Array.from({ length: 10 }, () => [100, 2, 101, true] as [number, number, number, boolean]);

test('a trigger (backend down) is degraded, not metastable', () => {
  const trigger = Array.from({ length: 10 }, () => [100, 120, 60, false] as [number, number, number, boolean]);
  const states = run([...healthy, ...trigger]);
  assert.equal(states.at(9), 'healthy');
  assert.ok(states.slice(10).every((s) => s === 'degraded'));
});

test('trigger gone, goodput still low, retries sustaining for 5 s: metastable; recovery: healthy', () => {
  const trigger = Array.from({ length: 3 }, () => [100, 120, 60, false] as [number, number, number, boolean]);
  const stuck = Array.from({ length: 8 }, () => [100, 200, 70, true] as [number, number, number, boolean]);
  const recovered = [[100, 3, 102, true]] as [number, number, number, boolean][];
  const states = run([...healthy, ...trigger, ...stuck, ...recovered]);
  const stuckStates = states.slice(13, 21);
  assert.equal(stuckStates[0], 'degraded', 'not yet sustained');
  assert.equal(stuckStates.at(-1), 'metastable');
  assert.equal(states.at(-1), 'healthy');
});

test('a load spike that is still there is degraded, not metastable', () => {
  const spike = Array.from({ length: 10 }, () => [300, 200, 250, true] as [number, number, number, boolean]);
  const states = run([...healthy, ...spike]);
  assert.ok(states.slice(10).every((s) => s === 'degraded'));
});
