// TOML pieces for progressive-delivery tests: named pools of test backends.
import type { TestBackend } from './backends.ts';

/** A [[pools]] table with the given backends; `extra` lines go into the pool table itself. */
export function poolToml(name: string, backends: readonly TestBackend[], extra = ''): string {
  const members = backends.map((b) => `[[pools.backends]]\nname = "${b.name}"\naddress = "${b.address}"\n`).join('\n');
  return `[[pools]]\nname = "${name}"\n${extra}\n${members}`;
}

/** Requests served by each backend name (the test backends answer with x-served-by). */
export function tally(served: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of served) out.set(s, (out.get(s) ?? 0) + 1);
  return out;
}
