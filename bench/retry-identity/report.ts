// The harness's verdicts and its markdown: a table per fault profile with PASS/FAIL against the
// thresholds, a table per library (so a reader sees which library Sibyl misreads), what Sibyl
// recorded that deserves a look, and the section of docs/retry-prediction.md that --write rewrites.
import { readFile, writeFile } from 'node:fs/promises';
import type { Diagnostics } from './diagnostics.ts';
import type { ProfileCalibration } from './breakdown.ts';
import { CLIP, type GroupScore } from './scoring.ts';

export const THRESHOLDS = { coverage: 0.99, auc: 0.97, ece: 0.02, agreement: 0.98 } as const;

export type Verdict = 'PASS' | 'FAIL' | 'n/a';
export const FIGURES = ['coverage', 'auc', 'ece', 'logLoss', 'agreement'] as const;
export type Figure = (typeof FIGURES)[number];

export interface ProfileResult {
  readonly name: string;
  readonly summary: string;
  readonly score: GroupScore;
  readonly verdicts: Record<Figure, Verdict>;
}

export interface LibraryResult {
  readonly name: string;
  readonly policy: string;
  readonly logicalRequests: number;
  readonly unfinished: number;
  readonly score: GroupScore;
}

export interface RetryIdentityResult {
  readonly mode: 'full' | 'quick';
  readonly command: string;
  readonly startedAt: string;
  readonly runtimeMs: number;
  readonly sibylMain: string;
  readonly retryWindow: string;
  /** Unscored runs of the whole profile sequence against the same Sibyl process before the scored one. */
  readonly warmupRounds: number;
  readonly profileSeconds: number;
  readonly ratePerSecond: number;
  readonly instances: number;
  readonly profiles: readonly ProfileResult[];
  readonly libraries: readonly LibraryResult[];
  readonly diagnostics: Diagnostics;
  /** Stdout-only detail (renderCalibration), not part of the docs section. */
  readonly calibration: readonly ProfileCalibration[];
  readonly overall: { readonly passed: number; readonly failed: number; readonly notApplicable: number };
}

const at = (v: number | null, threshold: (x: number) => boolean): Verdict => (v === null ? 'n/a' : threshold(v) ? 'PASS' : 'FAIL');

export function verdictsOf(s: GroupScore): Record<Figure, Verdict> {
  return {
    coverage: at(s.coverage, (x) => x >= THRESHOLDS.coverage),
    // without a positive (or without a negative) AUC is undefined: neither a pass nor a fail
    auc: at(s.auc, (x) => x >= THRESHOLDS.auc),
    ece: at(s.ece, (x) => x <= THRESHOLDS.ece),
    // one class only: the in-sample per-status baseline predicts it exactly, so there is nothing to compare
    logLoss: s.logLoss === null || s.baselineLogLoss === null || s.logLossOneClass !== undefined ? 'n/a' : s.logLoss < s.baselineLogLoss ? 'PASS' : 'FAIL',
    agreement: at(s.agreement, (x) => x >= THRESHOLDS.agreement),
  };
}

const f3 = (v: number | null): string => (v === null ? '-' : v.toFixed(3));
const f4 = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)} %`);

function profileTable(profiles: readonly ProfileResult[]): string[] {
  const rows = profiles.map(({ name, score: s, verdicts: v }) =>
    [
      name,
      String(s.responses),
      `${f3(s.coverage)} ${v.coverage}`,
      String(s.positives),
      s.auc === null ? `n/a (${s.positives === 0 ? 'no positive' : 'no negative'})` : `${f3(s.auc)} ${v.auc}`,
      `${f4(s.ece)} ${v.ece}`,
      s.logLossOneClass !== undefined ? `n/a (${s.logLossOneClass})` : `${f4(s.logLoss)} / ${f4(s.baselineLogLoss)} ${v.logLoss}`,
      `${f3(s.agreement)} ${v.agreement} (${s.labelled} labelled, ${s.nullLabels} null, ${s.missingLabels} missing)`,
      f3(s.precision),
      f3(s.recall),
      String(s.successesLabelledRetried),
    ].join(' | '),
  );
  return [
    `| profile | responses | coverage (>= ${THRESHOLDS.coverage}) | positives | AUC (>= ${THRESHOLDS.auc}) | ECE (<= ${THRESHOLDS.ece}) | log loss Sibyl / per-status baseline | label agreement (>= ${THRESHOLDS.agreement}) | precision | recall | 2xx labelled retried |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ];
}

function libraryTable(libraries: readonly LibraryResult[]): string[] {
  return [
    '| library | default retry policy | logical requests | attempts | truth retries | Sibyl-labelled retries | label agreement | no response |',
    '|---|---|---|---|---|---|---|---|',
    ...libraries.map(
      (l) =>
        `| ${l.name} | ${l.policy} | ${l.logicalRequests}${l.unfinished > 0 ? ` (${l.unfinished} unfinished)` : ''} | ${l.score.attempts} | ${l.score.truthRetries} | ${l.score.sibylRetried} | ${f3(l.score.agreement)} | ${l.score.transportErrors} |`,
    ),
  ];
}

function diagnosticLines(d: Diagnostics, profiles: readonly ProfileResult[]): string[] {
  const total = profiles.reduce((acc, p) => ({ t: acc.t + p.score.predictedFromTelemetry, a: acc.a + p.score.predictedFromAccessLog }), { t: 0, a: 0 });
  return [
    `- Predictions read from: telemetry NDJSON ${total.t}, access log (fallback) ${total.a}.`,
    `- Client keys: ${d.instances} client instances; ${d.instancesWithSeveralKeys} got more than one client key, ${d.keysSharedByInstances} keys were shared by several instances, ${d.instancesWithoutKey} had no key recorded.`,
    `- Client IPs in the access log: ${d.wrongClientIps} of ${d.checkedClientIps} lines differ from the instance's own source address.`,
    `- Request ids: ${d.unknownRequestIds} responses the clients received have no Sibyl record; ${d.unseenSibylRecords} Sibyl records reached no client.`,
    `- Attempt number: Sibyl's equals the library's attempt index on ${pct(d.attemptNumberMatches, d.attemptNumbersCompared)} of ${d.attemptNumbersCompared} responses (a repeat should start at 1).`,
    `- Repeats (application re-sends 1-5 s after a completed request): ${d.repeats}; flagged as repeat by Sibyl: ${d.repeatsFlagged ?? 'no repeat field written'}; given attempt > 1: ${d.repeatsWithAttemptAbove1}; the attempt before a repeat labelled retried: ${d.repeatedLabelledRetried}.`,
  ];
}

export function overallLine(r: RetryIdentityResult): string {
  const { passed, failed, notApplicable } = r.overall;
  return `VERDICT: ${failed === 0 ? 'PASS' : 'FAIL'} - ${passed} checks passed, ${failed} failed, ${notApplicable} n/a (${r.mode} run, ${(r.runtimeMs / 1000).toFixed(0)} s)`;
}

export function renderMarkdown(r: RetryIdentityResult): string {
  return [
    `Run ${r.startedAt}, ${r.mode} mode, ${(r.runtimeMs / 1000).toFixed(0)} s: \`${r.command}\`. Sibyl: \`${r.sibylMain}\`, strategy adaptive, retry window ${r.retryWindow}, otherwise defaults.${
      r.warmupRounds > 0 ? ` Warm-up: ${r.warmupRounds} unscored round${r.warmupRounds === 1 ? '' : 's'} of the whole profile sequence against the same Sibyl process before the scored one.` : ''
    }`,
    `${r.instances} client instances (2 per library), ${r.ratePerSecond} logical requests/s in all, ${r.profileSeconds} s per profile, 10 % repeats. Log loss clips Sibyl's and the baseline's predictions to [${CLIP}, 1 - ${CLIP}] (sklearn's eps).`,
    '',
    ...profileTable(r.profiles),
    '',
    ...libraryTable(r.libraries),
    '',
    ...diagnosticLines(r.diagnostics, r.profiles),
    '',
    overallLine(r),
  ].join('\n');
}

export const DOCS_BEGIN = '<!-- retry-identity:begin -->';
export const DOCS_END = '<!-- retry-identity:end -->';

/** Rewrites the marked section of the doc (adding the markers at the end when absent). */
export async function writeDocsSection(path: string, markdown: string, profiles: readonly { name: string; summary: string }[]): Promise<void> {
  const text = await readFile(path, 'utf8');
  const section = [
    DOCS_BEGIN,
    '## Client-retry identity (real client libraries)',
    '',
    '`npm run bench:retry-identity` (bench/retry-identity/) puts eight HTTP client libraries at their default',
    'retry policies (two instances each, own credential, own loopback source address) in front of the real',
    'Sibyl binary and three in-process backends, records client-side every attempt each library made (under',
    'the library, never in a header Sibyl can read) and scores Sibyl against it: truth is 1 when the library',
    'sent another attempt of the same call after this one. A deliberate re-send by the application (10 % of',
    'calls, 1-5 s after completion) is a repeat, not a retry. Fault profiles, ~20 s each, in sequence:',
    '',
    ...profiles.map((p) => `- \`${p.name}\`: ${p.summary}`),
    '',
    'AUC is n/a (neither pass nor fail) when a profile has no positive; so is the log-loss verdict, since the',
    'per-status baseline (the truth retry rate of each status on the same responses) then predicts exactly 0.',
    'Log loss clips predictions at 1e-15 (sklearn\'s eps). `--write` rewrites this section; `--quick` (the e2e',
    'test, test/e2e/retry-identity.test.ts) runs two short profiles with a 6 s retry window.',
    '',
    markdown,
    DOCS_END,
  ].join('\n');
  const begin = text.indexOf(DOCS_BEGIN);
  const end = text.indexOf(DOCS_END);
  const next = begin !== -1 && end > begin ? `${text.slice(0, begin)}${section}${text.slice(end + DOCS_END.length)}` : `${text.replace(/\n*$/, '\n\n')}${section}\n`;
  await writeFile(path, next);
}
