// The online learner: labelled events wait in a bounded ring; on each tick the learner drains a
// batch, and for every event predicts then learns (progressive validation: each event is scored
// by a model that has not seen it). Runs off the data path, on a timer; a full ring drops the
// newest events and counts them, it never blocks a request.
import type { LabelledEvent } from '../telemetry/attempt-event.ts';

export interface LearnerModel {
  /** Returns the prediction made before learning from this example. */
  learn(event: LabelledEvent, retried: 0 | 1): number;
}

export interface LearnerHooks {
  /** Each example with the prediction made before learning it (progressive validation); optional. */
  readonly onScored?: (event: LabelledEvent, prediction: number) => void;
  readonly onDrop: () => void;
}

export class OnlineLearner {
  readonly #capacity: number;
  readonly #model: LearnerModel;
  readonly #hooks: LearnerHooks;
  #ring: (LabelledEvent | undefined)[];
  #head = 0;
  #size = 0;
  #learned = 0;

  constructor(capacity: number, model: LearnerModel, hooks: LearnerHooks) {
    this.#capacity = capacity;
    this.#model = model;
    this.#hooks = hooks;
    this.#ring = new Array<LabelledEvent | undefined>(capacity);
  }

  get backlog(): number {
    return this.#size;
  }

  get learned(): number {
    return this.#learned;
  }

  enqueue(event: LabelledEvent): void {
    if (this.#size === this.#capacity) {
      this.#hooks.onDrop();
      return;
    }
    this.#ring[(this.#head + this.#size) % this.#capacity] = event;
    this.#size++;
  }

  /** Trains on up to maxEvents queued events; returns how many. */
  drain(maxEvents = Number.POSITIVE_INFINITY): number {
    let n = 0;
    while (this.#size > 0 && n < maxEvents) {
      const event = this.#ring[this.#head] as LabelledEvent;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#capacity;
      this.#size--;
      const p = this.#model.learn(event, event.retried);
      this.#hooks.onScored?.(event, p);
      n++;
    }
    this.#learned += n;
    return n;
  }
}
