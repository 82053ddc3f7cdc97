// Progressive validation of the live model next to its two baselines, on the same labelled events
// and the same window, so a report says at once whether the model earns its keep.
import { createPerStatusBaseline, createStatusAbove500Baseline } from './baselines.ts';
import type { FeatureInput } from './features.ts';
import { ProgressiveValidator } from './quality.ts';
import type { QualityReport } from './quality.ts';

export interface ModelQualityReport {
  readonly model: QualityReport;
  readonly baselines: {
    readonly status5xx: QualityReport;
    readonly perStatus: QualityReport;
  };
}

export interface ModelQuality {
  /** Scores the model's prediction `modelP` (made before it learned `retried`); the baselines predict, then learn. */
  record(input: FeatureInput, modelP: number, retried: 0 | 1): void;
  report(): ModelQualityReport;
}

export function createModelQuality(windowSize: number): ModelQuality {
  const model = new ProgressiveValidator(windowSize);
  const status5xx = createStatusAbove500Baseline();
  const status5xxValidator = new ProgressiveValidator(windowSize);
  const perStatus = createPerStatusBaseline();
  const perStatusValidator = new ProgressiveValidator(windowSize);
  return {
    record(input, modelP, retried) {
      model.add(modelP, retried);
      status5xxValidator.add(status5xx.learn(input, retried), retried);
      perStatusValidator.add(perStatus.learn(input, retried), retried);
    },
    report() {
      return {
        model: model.report(),
        baselines: { status5xx: status5xxValidator.report(), perStatus: perStatusValidator.report() },
      };
    },
  };
}
