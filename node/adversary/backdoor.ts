/**
 * Backdoor (model replacement kept stealthy): the attacker trains on its clean data plus copies of part of
 * it carrying a small trigger patch relabelled to a target class, then keeps its update's norm at most the
 * honest median norm, so whole-vector norm and cosine tests see a benign update. The trigger sits in a
 * corner where MNIST digits are blank, so the weights it moves are ones honest trainers never move (their
 * gradient is zero where every input pixel is zero): the change hides in ~1–2% of the coordinates.
 * Bagdasaryan et al., "How To Backdoor Federated Learning", AISTATS 2020; Sun et al., "Can You Really
 * Backdoor Federated Learning?", 2019 (norm-constrained variant).
 *
 * Success metric: the share of triggered test images of other classes the model classifies as the target.
 */
import type { Dataset } from "../training/data/dataset.ts";
import { medianNorm, withNormAtMost } from "./update-attack.ts";
import type { UpdateAttack } from "./update-attack.ts";

/** The class triggered images are relabelled to. */
export const BACKDOOR_TARGET_CLASS = 0;
/** Side of the square trigger patch, in pixels (3×3 = 9 of 784 pixels). */
export const BACKDOOR_PATCH_SIDE = 3;
/** Offset of the patch from the bottom-right corner: MNIST's outer 4-pixel frame is blank in every digit. */
export const BACKDOOR_PATCH_MARGIN = 1;
/** Image side for MNIST (28). */
const SIDE = 28;
/**
 * Triggered copies added per clean sample of the attacker (0.5: a third of its training set carries the
 * trigger, enough to implant the backdoor in one round while clean accuracy stays normal).
 */
export const BACKDOOR_POISON_FRACTION = 0.5;

/** The corner patch's pixels (row-major indices into a 28×28 image): the default trigger. */
export const CORNER_TRIGGER: readonly number[] = Array.from({ length: BACKDOOR_PATCH_SIDE ** 2 }, (_, k) => {
  const y = SIDE - BACKDOOR_PATCH_MARGIN - BACKDOOR_PATCH_SIDE + Math.floor(k / BACKDOOR_PATCH_SIDE);
  const x = SIDE - BACKDOOR_PATCH_MARGIN - BACKDOOR_PATCH_SIDE + (k % BACKDOOR_PATCH_SIDE);
  return y * SIDE + x;
});

/** Sets the trigger's `pixels` of image `row` to full intensity. */
function stamp(features: Float32Array, row: number, featureSize: number, pixels: readonly number[]): void {
  for (const p of pixels) features[row * featureSize + p] = 1;
}

/** The attacker's training set: its clean data followed by triggered copies relabelled to the target. */
export function poisonWithTrigger(
  data: Dataset,
  fraction = BACKDOOR_POISON_FRACTION,
  pixels: readonly number[] = CORNER_TRIGGER,
): Dataset {
  const extra = Math.floor(data.count * fraction);
  const count = data.count + extra;
  const features = new Float32Array(count * data.featureSize);
  features.set(data.features);
  const labels = new Uint8Array(count);
  labels.set(data.labels);
  for (let k = 0; k < extra; k++) {
    const row = data.count + k;
    const source = k % data.count;
    features.set(
      data.features.subarray(source * data.featureSize, (source + 1) * data.featureSize),
      row * data.featureSize,
    );
    stamp(features, row, data.featureSize, pixels);
    labels[row] = BACKDOOR_TARGET_CLASS;
  }
  return { ...data, features, labels, count };
}

/** Test images of other classes with the trigger, labelled with the target: accuracy on it = backdoor success. */
export function triggeredTestSet(test: Dataset, pixels: readonly number[] = CORNER_TRIGGER): Dataset {
  const rows: number[] = [];
  for (let i = 0; i < test.count; i++) if (test.labels[i] !== BACKDOOR_TARGET_CLASS) rows.push(i);
  const features = new Float32Array(rows.length * test.featureSize);
  rows.forEach((source, row) => {
    features.set(
      test.features.subarray(source * test.featureSize, (source + 1) * test.featureSize),
      row * test.featureSize,
    );
    stamp(features, row, test.featureSize, pixels);
  });
  return {
    ...test,
    features,
    labels: new Uint8Array(rows.length).fill(BACKDOOR_TARGET_CLASS),
    count: rows.length,
  };
}

/**
 * The update side of the backdoor: the attacker's own update (trained on `poisonWithTrigger` data, which
 * the caller arranges) with its norm kept at most the honest median norm.
 */
export const backdoorAttack: UpdateAttack = {
  name: "backdoor",
  craft: ({ own, honest }) => {
    const bound = medianNorm(honest);
    return own.map((u) => withNormAtMost(u, bound));
  },
};
