// The fastest Node peer for the benchmark: fastify + @fastify/http-proxy, logger off, the plugin's
// default undici agent (keep-alive). Usage: node bench/fastify-proxy.ts --upstream http://HOST:PORT
// Prints one JSON line {"listening":"127.0.0.1:PORT"} once it accepts connections.
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { upstream: { type: 'string' }, listen: { type: 'string', default: '127.0.0.1:0' } } });
if (values.upstream === undefined) {
  process.stderr.write('usage: node bench/fastify-proxy.ts --upstream http://HOST:PORT [--listen HOST:PORT]\n');
  process.exit(1);
}
const [host = '127.0.0.1', port = '0'] = values.listen.split(':');

const app = Fastify({ logger: false });
await app.register(httpProxy, { upstream: values.upstream });
await app.listen({ host, port: Number(port) });
const address = app.server.address();
const boundPort = typeof address === 'object' && address !== null ? address.port : Number(port);
process.stdout.write(`${JSON.stringify({ listening: `${host}:${boundPort}` })}\n`);

const stop = (): void => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
