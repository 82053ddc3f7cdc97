// SharedState between the workers of one machine (`serve --workers N`): a worker's calls travel
// over the cluster's IPC channel to the primary, which answers them from one in-memory store.
// So a limit and the retry model are one per machine, as in a single process.
import type { BucketReport, ModelPush, SharedState, SparseCoordinates } from './shared-state.ts';

export type SharedRequest =
  | { readonly type: 'shared'; readonly id: number; readonly op: 'takeTokens'; readonly reports: readonly BucketReport[] }
  | { readonly type: 'shared'; readonly id: number; readonly op: 'pushModel'; readonly push: ModelPush };
export type SharedReply = { readonly type: 'shared-reply'; readonly id: number; readonly result?: unknown; readonly error?: string };

export interface Channel {
  send(message: SharedRequest): void;
  onMessage(fn: (message: unknown) => void): void;
}

/** The worker's side. */
export function createIpcSharedState(channel: Channel, timeoutMs: number): SharedState {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  channel.onMessage((message) => {
    const reply = message as Partial<SharedReply>;
    if (reply.type !== 'shared-reply' || reply.id === undefined) return;
    const w = waiting.get(reply.id);
    if (w === undefined) return;
    waiting.delete(reply.id);
    if (reply.error !== undefined) w.reject(new Error(reply.error));
    else w.resolve(reply.result);
  });
  const call = (request: (id: number) => SharedRequest): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      channel.send(request(id));
    });
  return {
    takeTokens: (reports) => call((id) => ({ type: 'shared', id, op: 'takeTokens', reports })) as Promise<number[]>,
    pushModel: (push) => call((id) => ({ type: 'shared', id, op: 'pushModel', push })) as Promise<SparseCoordinates | undefined>,
    close: () => Promise.resolve(),
  };
}

/** The primary's side: answers one worker's request from the store. */
export async function answerSharedRequest(store: SharedState, request: SharedRequest): Promise<SharedReply> {
  try {
    const result = request.op === 'takeTokens' ? await store.takeTokens(request.reports) : await store.pushModel(request.push);
    return { type: 'shared-reply', id: request.id, result };
  } catch (err) {
    return { type: 'shared-reply', id: request.id, error: (err as Error).message };
  }
}
