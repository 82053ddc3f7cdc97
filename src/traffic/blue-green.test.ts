import assert from 'node:assert/strict';
import { test } from 'node:test';
import { otherSide, redirectsOf, resolveActive, type BlueGreenSpec } from './blue-green.ts';

const spec: BlueGreenSpec = { name: 'shop', blue: 'b', green: 'g', active: 'blue' };

test('an admin switch holds until the config names another side', () => {
  assert.equal(resolveActive(spec, undefined), 'blue');
  assert.equal(resolveActive(spec, { active: 'green', configActive: 'blue' }), 'green', 'same config: the admin switch stays');
  assert.equal(resolveActive({ ...spec, active: 'green' }, { active: 'blue', configActive: 'blue' }), 'green', 'the config changed: it wins');
  assert.equal(resolveActive(spec, { active: 'purple', configActive: 'blue' }), 'blue', 'garbage in the file is ignored');
  assert.equal(otherSide('blue'), 'green');
});

test('both sides\' traffic goes to the active side', () => {
  assert.deepEqual([...redirectsOf([{ spec, active: 'green' }])], [['b', 'g'], ['g', 'g']]);
  assert.deepEqual([...redirectsOf([{ spec, active: 'blue' }])], [['b', 'b'], ['g', 'b']]);
});
