// `sibyl backend`: runs one demo backend (for benchmarks, tests and trying Sibyl out).
import { mathRng } from '../core/rng.ts';
import { parseHostPort } from '../core/address.ts';
import { startDemoBackend } from '../demo/demo-backend.ts';

export async function backendCommand(options: { listen: string; name: string; bodyBytes: string; failureRate: string; latencyMs: string }): Promise<void> {
  const hp = parseHostPort(options.listen);
  if (hp === undefined) {
    process.stderr.write(`--listen: expected host:port, got ${JSON.stringify(options.listen)}\n`);
    process.exit(1);
  }
  const numbers = { bodyBytes: Number(options.bodyBytes), failureRate: Number(options.failureRate), latencyMs: Number(options.latencyMs) };
  for (const [flag, value] of Object.entries(numbers)) {
    if (!Number.isFinite(value) || value < 0) {
      process.stderr.write(`--${flag}: expected a number >= 0\n`);
      process.exit(1);
    }
  }
  const backend = await startDemoBackend({ name: options.name, ...numbers }, mathRng, hp.host, hp.port);
  process.stdout.write(`${JSON.stringify({ listening: `${hp.host}:${backend.port}`, name: options.name })}\n`);
  const stop = (): void => void backend.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
