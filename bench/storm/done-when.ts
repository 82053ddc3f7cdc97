// Issue #20's "Done when" for the tight-concurrency scenario, checked on one live run of Sibyl
// (defaults, told neither number) against the tuned HAProxy of the same run. Each figure is
// PASS or FAIL on its own; nothing is averaged away.
import type { LiveRun } from './run.ts';

export interface Check {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly isPass: boolean;
}

/** Wasted backend work during the trigger: served for a client that had already left, of all served. */
export function wasteShare(work: LiveRun['backendWork']): number {
  const done = work.served + work.wasted;
  return done > 0 ? work.wasted / done : 0;
}

/** What Sibyl answered 503 itself over the run (its last metrics sample), 0 for other proxies. */
export function ownShedCount(run: LiveRun): number {
  const last = run.shedSamples?.at(-1);
  return last === undefined ? 0 : last.shed;
}

const f = (n: number | undefined, digits: number): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

export function tightConcurrencyChecks(sibyl: LiveRun, haproxy: LiveRun | undefined, capacityRps: number): Check[] {
  const [, during, after] = sibyl.figures.phases;
  const goodput = during?.goodputByEndRps ?? 0;
  const attempts = during?.attemptsPerRequest ?? Infinity;
  const p99 = during?.p99AllMs ?? Infinity;
  const success = after?.successShare ?? 0;
  const waste = wasteShare(sibyl.backendWorkDuring);
  const checks: Check[] = [
    { figure: 'goodput during the trigger', value: `${f(goodput, 1)}/s (${f((100 * goodput) / capacityRps, 1)} % of capacity)`, target: '>= 95 % of capacity', isPass: goodput >= 0.95 * capacityRps },
    { figure: 'client attempts per logical request (during)', value: f(attempts, 2), target: '<= 1.15', isPass: attempts <= 1.15 },
    { figure: 'p99 of logical requests (during)', value: `${f(p99, 0)} ms`, target: '<= 2000 ms', isPass: p99 <= 2000 },
    { figure: 'success from the first second after the trigger', value: f(success, 3), target: '>= 0.99', isPass: success >= 0.99 },
    { figure: 'wasted backend work (during)', value: `${f(100 * waste, 2)} %`, target: '< 1 %', isPass: waste < 0.01 },
  ];
  if (haproxy === undefined) return checks;
  const [, hDuring] = haproxy.figures.phases;
  const hAttempts = hDuring?.attemptsPerRequest ?? Infinity;
  const hP99 = hDuring?.p99AllMs ?? Infinity;
  const hGoodput = hDuring?.goodputByEndRps ?? 0;
  checks.push(
    { figure: 'attempts vs tuned HAProxy', value: `${f(attempts, 2)} vs ${f(hAttempts, 2)}`, target: 'fewer', isPass: attempts < hAttempts },
    { figure: 'p99 vs tuned HAProxy', value: `${f(p99, 0)} vs ${f(hP99, 0)} ms`, target: 'lower', isPass: p99 < hP99 },
    { figure: 'goodput vs tuned HAProxy', value: `${f(goodput, 1)} vs ${f(hGoodput, 1)}/s`, target: 'within 2 % (or above)', isPass: goodput >= 0.98 * hGoodput },
  );
  return checks;
}

export function formatChecks(checks: readonly Check[]): string[] {
  return checks.map((c) => `${c.isPass ? 'PASS' : 'FAIL'}  ${c.figure}: ${c.value} (target ${c.target})`);
}
