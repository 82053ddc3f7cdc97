import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventRing } from './event-ring.ts';

test('keeps the newest events up to capacity and counts evictions', () => {
  let evicted = 0;
  const ring = new EventRing<number>(3, () => evicted++);
  for (let i = 1; i <= 5; i++) ring.push(i);
  assert.deepEqual(ring.recent(), [5, 4, 3]);
  assert.deepEqual(ring.recent(2), [5, 4]);
  assert.equal(evicted, 2);
});
