// `sibyl experiment report` (effect sizes, p-values, whether the sample is enough) from a running
// Sibyl's admin API or a saved JSON report, and `sibyl experiment sample-size`.
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { ExperimentReport } from '../traffic/experiment.ts';
import { sampleSizePerVariant } from '../traffic/statistics.ts';

const fixed = (x: number | null, digits: number): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const percent = (x: number | null): string => (x === null || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(2)} %`);
const points = (x: number | null): string => (x === null || !Number.isFinite(x) ? '-' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} points`);
const pValue = (p: number | null): string => (p === null || !Number.isFinite(p) ? 'n/a' : p < 0.0001 ? '< 0.0001' : p.toFixed(4));

/** JSON turns NaN into null; the report's numbers may be either. */
type Loose<T> = { [K in keyof T]: T[K] extends number ? number | null : T[K] extends object ? Loose<T[K]> : T[K] };

export function formatReport(r: Loose<ExperimentReport>): string {
  const lines = [`experiment ${r.name}: requests to pool ${r.pool}, assigned by ${r.key}; alpha ${r.alpha}, power ${r.power}`];
  const rows = [['variant', 'pool', 'weight', 'requests', 'success', 'latency mean', 'latency sd']];
  for (const v of r.variants) rows.push([v.name, v.pool, String(v.weight), String(v.requests), percent(v.successRate), `${fixed(v.latencyMeanMs, 1)} ms`, `${fixed(v.latencySdMs, 1)} ms`]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`);
  const sr = r.successRates;
  lines.push(`success rates: chi-square ${fixed(sr.chiSquare, 3)} (df ${sr.df}), p = ${pValue(sr.pValue)}: ${sr.pValue === null ? 'no test yet (needs successes and failures)' : sr.isSignificant ? `the variants differ (p < ${r.alpha})` : `no significant difference at alpha ${r.alpha}`}`);
  const control = r.variants[0]?.name ?? 'control';
  for (const v of r.variants.slice(1)) {
    const c = v.vsControl;
    if (c === undefined) continue;
    lines.push(
      `${v.name} vs ${control}: success ${points(c.successRateDiff)} (${fixed(c.successRateLift === null ? null : 100 * c.successRateLift, 1)} % relative); ` +
        `latency ${fixed(c.latencyDiffMs, 1)} ms (Cohen's d ${fixed(c.latencyEffectSize, 2)}), Welch t = ${fixed(c.welchT, 3)}, df ${fixed(c.welchDf, 1)}, p = ${pValue(c.latencyPValue)}${c.isLatencySignificant ? ' (significant)' : ''}`,
    );
  }
  const smallest = Math.min(...r.variants.map((v) => v.requests ?? 0));
  lines.push(`sample: ${smallest} in the smallest variant; ${r.requiredPerVariant} per variant are needed to detect ${points(r.minDetectableEffect)} of success rate at power ${r.power}: ${r.isSampleEnough ? 'enough' : 'NOT enough yet'}`);
  return lines.join('\n');
}

async function loadReports(options: { admin: string; token?: string; file?: string }): Promise<Loose<ExperimentReport>[]> {
  let body: unknown;
  if (options.file !== undefined) {
    body = JSON.parse(await readFile(options.file, 'utf8'));
  } else {
    const res = await request(`${options.admin.replace(/\/$/, '')}/api/experiments`, { headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET /api/experiments answered ${res.statusCode}: ${text}`);
    body = JSON.parse(text);
  }
  const b = body as { experiments?: unknown; name?: unknown };
  if (Array.isArray(b.experiments)) return b.experiments as Loose<ExperimentReport>[];
  if (typeof b.name === 'string') return [body as Loose<ExperimentReport>];
  throw new Error('not an experiment report: expected the JSON of GET /api/experiments or GET /api/experiments/<name>');
}

export async function experimentReportCommand(options: { admin: string; token?: string; file?: string; name?: string; json?: boolean }): Promise<void> {
  let reports: Loose<ExperimentReport>[];
  try {
    reports = await loadReports(options);
  } catch (err) {
    process.stderr.write(`sibyl experiment report: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const chosen = options.name === undefined ? reports : reports.filter((r) => r.name === options.name);
  if (chosen.length === 0) {
    process.stderr.write(options.name === undefined ? 'no experiments configured\n' : `no experiment named ${JSON.stringify(options.name)}\n`);
    process.exit(1);
  }
  process.stdout.write(options.json === true ? `${JSON.stringify(chosen, null, 2)}\n` : `${chosen.map(formatReport).join('\n\n')}\n`);
}

function fractionOption(name: string, text: string, min: number, max: number): number {
  const x = Number(text);
  if (!Number.isFinite(x) || x <= min || x >= max) {
    process.stderr.write(`sibyl experiment sample-size: --${name} must be a number in (${min}, ${max}), got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return x;
}

export function experimentSampleSizeCommand(options: { baseline: string; mde: string; alpha: string; power: string; variants: string }): void {
  const baseline = fractionOption('baseline', options.baseline, 0, 1);
  const mde = fractionOption('mde', options.mde, -1, 1);
  const alpha = fractionOption('alpha', options.alpha, 0, 0.5);
  const power = fractionOption('power', options.power, 0.5, 1);
  const variants = Number(options.variants);
  if (!Number.isInteger(variants) || variants < 2 || baseline + mde <= 0 || baseline + mde >= 1 || mde === 0) {
    process.stderr.write('sibyl experiment sample-size: needs --variants >= 2 and 0 < baseline + mde < 1, mde != 0\n');
    process.exit(2);
  }
  const n = sampleSizePerVariant(baseline, mde, alpha, power);
  process.stdout.write(
    `${n} per variant (${n * variants} in total for ${variants} variants) to detect a success rate of ${(100 * (baseline + mde)).toFixed(2)} % against ${(100 * baseline).toFixed(2)} % ` +
      `(two-sided two-proportion z-test, pooled variance, alpha ${alpha}, power ${power}; each further variant compared with the control at the same alpha)\n`,
  );
}
