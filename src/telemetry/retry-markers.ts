// Explicit retry markers: request headers in which well-known SDKs state the attempt number. When
// one is present it wins over inference (retry-labeller.ts): attempt 1 starts a new chain whatever
// came before, attempt N > 1 is a retry even when its original went to another instance.
// docs/retry-prediction.md lists this table; keep the two in step.

export interface RetryMarker {
  /** Lower-case header name. */
  readonly header: string;
  readonly sentBy: string;
  readonly example: string;
  /** The attempt number (1 = first) the header value states, or undefined when it cannot be read. */
  readonly attemptOf: (value: string) => number | undefined;
}

const MAX_MARKED_ATTEMPT = 1000;

function attemptFrom(match: RegExpExecArray | null, offset: number): number | undefined {
  if (match === null) return undefined;
  const n = Number(match[1]) + offset;
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, MAX_MARKED_ATTEMPT) : undefined;
}

export const RETRY_MARKERS: readonly RetryMarker[] = Object.freeze([
  { header: 'amz-sdk-request', sentBy: 'AWS SDKs (every language)', example: 'attempt=2; max=3', attemptOf: (v: string) => attemptFrom(/(?:^|;)\s*attempt=(\d{1,6})\b/.exec(v), 0) },
  { header: 'x-stainless-retry-count', sentBy: 'Stainless-generated SDKs (OpenAI, Anthropic, ...)', example: '1 (retries so far)', attemptOf: (v: string) => attemptFrom(/^\s*(\d{1,6})\s*$/.exec(v), 1) },
  { header: 'grpc-previous-rpc-attempts', sentBy: 'gRPC clients with a retry policy', example: '1 (earlier attempts)', attemptOf: (v: string) => attemptFrom(/^\s*(\d{1,6})\s*$/.exec(v), 1) },
  { header: 'x-goog-api-client', sentBy: 'Google Cloud client libraries', example: 'gl-node/24 gccl/7 gccl-attempt-count/2', attemptOf: (v: string) => attemptFrom(/gccl-attempt-count\/(\d{1,6})\b/.exec(v), 0) },
]);

/** The attempt number the first readable marker states, or undefined. */
export function markedAttemptOf(headers: Readonly<Record<string, string | string[] | undefined>>): number | undefined {
  for (const marker of RETRY_MARKERS) {
    const raw = headers[marker.header];
    if (raw === undefined) continue;
    const attempt = marker.attemptOf(Array.isArray(raw) ? (raw[0] ?? '') : raw);
    if (attempt !== undefined) return attempt;
  }
  return undefined;
}
