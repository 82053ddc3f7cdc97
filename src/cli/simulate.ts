// `sibyl simulate`: the retry-storm simulator (sim/storm/). Every scenario under every policy,
// deterministic per seed; prints a table, optionally writes a Markdown report and an SVG plot.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { formatMarkdown, formatSvg, formatTable } from '../../sim/storm/report.ts';
import { Scales, ScenarioNames, scenario, type Scale, type ScenarioName } from '../../sim/storm/scenarios.ts';
import { runStorms } from '../../sim/storm/simulate-storm.ts';

export interface SimulateOptions {
  scenario: string;
  seed: string;
  scale: string;
  out?: string;
  svg?: string;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function write(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  process.stdout.write(`wrote ${path}\n`);
}

export async function simulateCommand(options: SimulateOptions): Promise<void> {
  const seed = Number(options.seed);
  if (!Number.isInteger(seed) || seed < 0) fail('--seed: expected a whole number >= 0');
  if (!(Scales as readonly string[]).includes(options.scale)) fail(`--scale: expected one of ${Scales.join(', ')}`);
  const names = options.scenario === 'all' ? ScenarioNames : [options.scenario];
  for (const name of names) if (!(ScenarioNames as readonly string[]).includes(name)) fail(`--scenario: expected all or one of ${ScenarioNames.join(', ')}`);
  const specs = (names as readonly ScenarioName[]).map((name) => scenario(name, options.scale as Scale, seed));
  const runs = runStorms(specs);
  process.stdout.write(formatTable(runs));
  const metastable = runs.filter((r) => r.scenario === 'metastable');
  const plotted = metastable.length > 0 ? metastable : runs.filter((r) => r.scenario === specs[0]?.name);
  if (options.svg !== undefined) await write(options.svg, formatSvg(plotted, `Goodput over time, ${plotted[0]?.scenario ?? ''} scenario (seed ${seed}, ${options.scale})`));
  if (options.out !== undefined) {
    const svgPath = options.svg === undefined ? undefined : relative(dirname(options.out), options.svg);
    await write(options.out, formatMarkdown(runs, { seed, scale: options.scale, specs, svgPath }));
  }
}
