// The discovery seam: where the backend list comes from. A Discovery only answers "which backends
// are there now"; refreshing on a schedule, keeping the last good set and applying a change live
// outside (runtime/discovery-supervisor.ts).

export interface DiscoveredBackend {
  /** Stable across refreshes, so that an unchanged backend keeps its health and EWMAs. */
  readonly name: string;
  readonly address: string;
  readonly weight: number;
}

export type DiscoveryResult =
  | { readonly ok: true; readonly backends: readonly DiscoveredBackend[]; readonly ttlMs: number | undefined }
  | { readonly ok: false; readonly reason: 'failed' | 'empty'; readonly message: string };

export interface Discovery {
  /** What is asked, for logs and the admin API: a file path or a DNS name and record type. */
  readonly source: string;
  /** Never rejects: a failure is a value. An empty answer is a failure (reason "empty"). */
  discover(signal: AbortSignal): Promise<DiscoveryResult>;
}

export function failed(error: unknown): DiscoveryResult {
  const message = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : String(error);
  return { ok: false, reason: 'failed', message };
}

export const EMPTY: DiscoveryResult = { ok: false, reason: 'empty', message: 'no backend found' };
