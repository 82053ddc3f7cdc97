// Labelled events as NDJSON ([telemetry] path): one JSON object per line, every line with the
// request id and the prediction made, so anyone can score Sibyl against their own ground truth.
// Writes are batched off the data path through a bounded queue (drops counted); files rotate by
// size (path, path.1, ... path.<max_files - 1>).
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';

export interface NdjsonSinkOptions {
  readonly path: string;
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly queueCapacity: number;
  readonly flushIntervalMs?: number;
}

export interface NdjsonSinkHooks {
  readonly onDrop: () => void;
  readonly onError: (err: unknown) => void;
}

export class NdjsonSink {
  readonly #options: NdjsonSinkOptions;
  readonly #hooks: NdjsonSinkHooks;
  #queue: string[] = [];
  #file: FileHandle | undefined;
  #size = 0;
  #timer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  #written = 0;

  constructor(options: NdjsonSinkOptions, hooks: NdjsonSinkHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 200);
    this.#timer.unref();
  }

  get linesWritten(): number {
    return this.#written;
  }

  write(record: object): void {
    if (this.#queue.length >= this.#options.queueCapacity) {
      this.#hooks.onDrop();
      return;
    }
    this.#queue.push(`${JSON.stringify(record)}\n`);
  }

  /** Writes what is queued; concurrent calls are serialised. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow()).catch((err: unknown) => this.#hooks.onError(err));
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    await this.#file?.close();
    this.#file = undefined;
  }

  async #flushNow(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines = this.#queue;
      this.#queue = [];
      const file = await this.#openFile();
      const text = lines.join('');
      await file.write(text);
      this.#size += Buffer.byteLength(text);
      this.#written += lines.length;
      if (this.#size >= this.#options.maxFileBytes) await this.#rotate();
    }
  }

  async #openFile(): Promise<FileHandle> {
    if (this.#file === undefined) {
      this.#file = await open(this.#options.path, 'a');
      this.#size = (await stat(this.#options.path)).size;
    }
    return this.#file;
  }

  async #rotate(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
    const { path, maxFiles } = this.#options;
    await rm(`${path}.${maxFiles - 1}`, { force: true });
    for (let i = maxFiles - 2; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => undefined);
    if (maxFiles > 1) await rename(path, `${path}.1`);
    else await rm(path, { force: true });
  }
}
