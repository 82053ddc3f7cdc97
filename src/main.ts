// Composition root and CLI: `sibyl <command>`.
import { Command, InvalidArgumentError } from 'commander';
import { backendCommand } from './cli/backend.ts';
import { demoCommand } from './cli/demo.ts';
import { evaluateCommand } from './cli/evaluate.ts';
import { experimentReportCommand, experimentSampleSizeCommand } from './cli/experiment.ts';
import { generateTelemetryCommand } from './cli/generate-telemetry.ts';
import { predictCommand } from './cli/predict.ts';
import { trainCommand } from './cli/train.ts';
import { serveCommand } from './cli/serve.ts';
import { simulateCommand } from './cli/simulate.ts';
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
  .option('--workers <n>', 'worker processes sharing the listener: a number, or "auto" for one per core', '1')
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

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

program
  .command('train')
  .description('train the retry model on labelled events (NDJSON from [telemetry] path, or CSV), leaving the latest --test-fraction out')
  .requiredOption('--data <file>', 'labelled events; repeat for several files', collect)
  .requiredOption('--out <file>', 'where to write the model snapshot (JSON)')
  .option('--test-fraction <f>', 'share of the latest events left out for `sibyl evaluate`', '0.2')
  .option('--hash-bits <n>', 'feature hash space: 2^n weights', '18')
  .option('--passes <n>', 'passes over the training events', '1')
  .action(trainCommand);

program
  .command('evaluate')
  .description('score a model on the held-out latest --test-fraction of the events, next to two baselines, with a reliability table')
  .requiredOption('--model <file>', 'model snapshot (JSON)')
  .requiredOption('--data <file>', 'labelled events; repeat for several files', collect)
  .option('--test-fraction <f>', 'share of the latest events held out (use the value given to train)', '0.2')
  .option('--json', 'print the report as JSON')
  .action(evaluateCommand);

program
  .command('generate-telemetry')
  .description('write a synthetic labelled dataset: client populations with different retry policies, backends with faults')
  .requiredOption('--out <file>', 'NDJSON output file')
  .option('--seed <n>', 'random seed (same seed, same data)', '1')
  .option('--clients <n>', 'number of simulated clients', '100')
  .option('--minutes <n>', 'simulated duration', '45')
  .action(generateTelemetryCommand);

program
  .command('predict')
  .description('read events (JSON lines) on stdin, write their retry probability (JSON lines) on stdout')
  .requiredOption('--model <file>', 'model snapshot (JSON)')
  .action(predictCommand);

program
  .command('simulate')
  .description('run the retry-storm simulator: scenarios x policies (round_robin, nginx-like, envoy-like, haproxy-tuned, sibyl), deterministic per seed')
  .option('--scenario <name>', 'all, one-bad-backend, one-slow-backend, brownout or metastable', 'all')
  .option('--seed <n>', 'random seed (same seed, same results)', '1')
  .option('--scale <scale>', 'small (CI) or full', 'full')
  .option('--out <file>', 'write a Markdown report (e.g. docs/retry-storms-sim.md)')
  .option('--svg <file>', 'write an SVG plot of goodput over time (e.g. docs/retry-storms-sim.svg)')
  .action(simulateCommand);

const experiment = program.command('experiment').description('A/B experiments: reports and sample sizes');
experiment
  .command('report')
  .description('per-variant success rate and latency, effect sizes, chi-square and Welch p-values, and whether the sample is enough')
  .option('--admin <url>', 'admin listener of a running Sibyl', 'http://127.0.0.1:9090')
  .option('--token <token>', 'bearer token of the admin API (default: SIBYL_ADMIN_TOKEN)', process.env.SIBYL_ADMIN_TOKEN)
  .option('--file <file>', 'read a saved report (the JSON of GET /api/experiments) instead of asking the admin API')
  .option('--name <name>', 'only this experiment')
  .option('--json', 'print the report as JSON')
  .action(experimentReportCommand);
experiment
  .command('sample-size')
  .description('requests per variant a two-proportion test needs to detect a change of the success (or conversion) rate')
  .requiredOption('--baseline <p>', 'current rate, e.g. 0.10')
  .requiredOption('--mde <d>', 'smallest absolute change worth detecting, e.g. 0.02 (10 % -> 12 %)')
  .option('--alpha <a>', 'significance level (two-sided)', '0.05')
  .option('--power <p>', 'power', '0.8')
  .option('--variants <n>', 'number of variants, control included', '2')
  .action(experimentSampleSizeCommand);

await program.parseAsync(process.argv);
