// Blue-green, pure: which side of a pair is in service, and which pool each side's traffic goes to.

export type Side = 'blue' | 'green';

export interface BlueGreenSpec {
  readonly name: string;
  readonly blue: string;
  readonly green: string;
  /** The side the config names. */
  readonly active: Side;
}

/** What the state file keeps: the side in service, and the config's side when it was chosen. */
export interface BlueGreenSaved {
  readonly active: Side;
  readonly configActive: Side;
}

export const otherSide = (side: Side): Side => (side === 'blue' ? 'green' : 'blue');

/**
 * An admin switch outlives reloads and restarts until the config itself names another side: the
 * newer decision wins.
 */
export function resolveActive(spec: BlueGreenSpec, saved: unknown): Side {
  if (typeof saved !== 'object' || saved === null) return spec.active;
  const s = saved as Partial<BlueGreenSaved>;
  const isSide = (v: unknown): v is Side => v === 'blue' || v === 'green';
  if (!isSide(s.active) || !isSide(s.configActive) || s.configActive !== spec.active) return spec.active;
  return s.active;
}

/** pool -> pool serving it: both sides' traffic goes to the active side's pool. */
export function redirectsOf(pairs: readonly { spec: BlueGreenSpec; active: Side }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { spec, active } of pairs) {
    const target = spec[active];
    out.set(spec.blue, target);
    out.set(spec.green, target);
  }
  return out;
}
