import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDocument } from '../config/load.ts';
import { workerConfig } from './cluster-worker.ts';

test('each worker writes its own telemetry file, so that rotation and the shutdown flush never race', () => {
  const result = validateDocument({ backends: [{ address: '127.0.0.1:9001' }], telemetry: { path: '/var/log/sibyl/events.ndjson' } }, {});
  assert.ok(result.ok);
  assert.equal(workerConfig(result.config, '2').telemetry.path, '/var/log/sibyl/events.worker-2.ndjson');
  assert.equal(workerConfig(result.config, '0').admin.listenAddress, '127.0.0.1:0');
  const bare = validateDocument({ backends: [{ address: '127.0.0.1:9001' }], telemetry: { path: 'events' } }, {});
  assert.ok(bare.ok);
  assert.equal(workerConfig(bare.config, '1').telemetry.path, 'events.worker-1');
  const none = validateDocument({ backends: [{ address: '127.0.0.1:9001' }] }, {});
  assert.ok(none.ok);
  assert.equal(workerConfig(none.config, '1').telemetry.path, undefined);
});
