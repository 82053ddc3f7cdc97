// Composition root and CLI: `sibyl <command>`.
import { Command, InvalidArgumentError } from 'commander';
import { backendCommand } from './cli/backend.ts';
import { demoCommand } from './cli/demo.ts';
import { serveCommand } from './cli/serve.ts';
import { validateCommand } from './cli/validate.ts';

function portNumber(value: string): string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return value;
}

function positiveNumber(value: string): string {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return value;
}

const program = new Command()
  .name('sibyl')
  .description('An HTTP load balancer that predicts client retries.')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('serve')
  .description('run the load balancer')
  .option('-c, --config <file>', 'TOML config file (without it, the config comes from SIBYL_* environment variables)')
  .option('--validate', 'only validate the config and exit (0 valid, 1 invalid)')
  .action(serveCommand);

program
  .command('validate')
  .description('validate a config file: exit 0, or 1 listing every problem with its key path')
  .option('-c, --config <file>', 'TOML config file (without it, the SIBYL_* environment)')
  .action(validateCommand);

program
  .command('demo')
  .description('run Sibyl in front of three built-in demo backends (one flaky) with steady real traffic')
  .option('--port <port>', 'proxy port (default: any free port)', portNumber)
  .option('--admin-port <port>', 'admin port (default: any free port)', portNumber)
  .option('--rate <rps>', 'demo requests per second', positiveNumber, '40')
  .option('--duration-seconds <s>', 'stop by itself after this many seconds', positiveNumber)
  .action(demoCommand);

program
  .command('backend')
  .description('run one demo backend (for benchmarks and trials)')
  .option('--listen <host:port>', 'where to listen', '127.0.0.1:0')
  .option('--name <name>', 'name reported in x-served-by', 'backend')
  .option('--body-bytes <n>', 'response body size', '100')
  .option('--failure-rate <r>', 'share of requests answered 503', '0')
  .option('--latency-ms <ms>', 'added latency', '0')
  .action(backendCommand);

await program.parseAsync(process.argv);
