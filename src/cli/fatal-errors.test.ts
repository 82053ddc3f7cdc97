import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { handleFatalErrors } from './fatal-errors.ts';

function setup() {
  const events = new EventEmitter();
  const logged: { fields: Record<string, unknown>; msg: string }[] = [];
  const stops: string[] = [];
  handleFatalErrors(events, { fatal: (fields: Record<string, unknown>, msg: string) => void logged.push({ fields, msg }) } as never, (origin) => stops.push(origin));
  return { events, logged, stops };
}

test('an uncaught exception is logged with its error and starts one drain-and-exit', () => {
  const { events, logged, stops } = setup();
  const bug = new Error('bug outside any request');
  events.emit('uncaughtException', bug, 'uncaughtException');
  assert.deepEqual(stops, ['uncaughtException']);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.fields.err, bug);
  assert.match(logged[0]?.msg ?? '', /draining, then exiting with status 1/);

  // more errors while draining: logged, the drain is not started again
  events.emit('uncaughtException', new Error('second'), 'uncaughtException');
  events.emit('unhandledRejection', new Error('third'));
  assert.deepEqual(stops, ['uncaughtException']);
  assert.equal(logged.length, 3);
  assert.equal(logged[2]?.fields.isDraining, true);
});

test('an unhandled rejection drains and exits too', () => {
  const { events, stops, logged } = setup();
  events.emit('unhandledRejection', new Error('nobody awaited this'));
  assert.deepEqual(stops, ['unhandledRejection']);
  assert.equal(logged[0]?.fields.origin, 'unhandledRejection');
});
