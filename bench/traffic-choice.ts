// Cost of route -> split on the data path (TrafficControl.choose), in ns per request: no routes (the
// default config), five header/path rules where the last matches, and a split. Run:
// `node bench/traffic-choice.ts`. In-process, one core; compare runs on the same machine only.
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { systemClock } from '../src/core/clock.ts';
import { mathRng } from '../src/core/rng.ts';
import { validateDocument } from '../src/config/load.ts';
import { createMetrics } from '../src/metrics/catalogue.ts';
import { Runtime } from '../src/runtime/runtime.ts';

function runtimeFor(doc: Record<string, unknown>): Runtime {
  const result = validateDocument({ backends: [{ name: 'a', address: '127.0.0.1:9001' }], pools: [{ name: 'v2', backends: [{ name: 'b', address: '127.0.0.1:9002' }] }], health: { enabled: false }, ...doc }, {});
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new Runtime(result.config, { clock: systemClock, rng: mathRng, metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) });
}

const req = { method: 'GET', url: '/v2/items?x=1', headers: { host: 'api.example.com', 'x-tier': 'gold', cookie: 'a=1; b=2' } } as unknown as IncomingMessage;
const rules = ['x-a', 'x-b', 'x-c', 'x-d'].map((h) => ({ headers: [{ name: h, value: '1' }], pool: 'v2' }));
const setups: [string, Record<string, unknown>][] = [
  ['no routes', {}],
  ['5 rules, the last matches', { routes: [...rules, { host: 'api.example.com', path_prefix: '/v2/', pool: 'v2' }] }],
  ['a 90/10 split', { routes: [{ path_prefix: '/', split: [{ pool: 'default', weight: 90 }, { pool: 'v2', weight: 10 }] }] }],
];
for (const [label, doc] of setups) {
  const runtime = runtimeFor(doc);
  const generation = runtime.current;
  const traffic = runtime.delivery.traffic;
  for (let i = 0; i < 200_000; i++) traffic.choose(generation, req, '10.0.0.1');
  const n = 2_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) traffic.choose(generation, req, '10.0.0.1');
  const ns = Number(process.hrtime.bigint() - started) / n;
  process.stdout.write(`${label.padEnd(28)} ${ns.toFixed(1)} ns/request\n`);
  await runtime.stop();
}
