/**
 * The in-memory dataset every loader produces: row-major float features and integer labels.
 */

/** Features [count, featureSize] row-major, labels in [0, classes). */
export interface Dataset {
  readonly features: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly featureSize: number;
  readonly classes: number;
  /** Optional group of each row (a text's topic or source file): `partition` can split by group. */
  readonly groups?: Uint16Array;
}

/** A data file or row is malformed; the message names the file and the (1-based) row. */
export class DataValidationError extends Error {
  override readonly name = "DataValidationError";
  readonly code = "DATA_INVALID";
  readonly file: string;
  readonly row: number | undefined;

  constructor(file: string, row: number | undefined, detail: string) {
    super(`${file}${row === undefined ? "" : `, row ${row}`}: ${detail}`);
    this.file = file;
    this.row = row;
  }
}

/** Checks shapes, label range and finiteness; throws `DataValidationError` naming the first bad row. */
export function validateDataset(dataset: Dataset, source: string): Dataset {
  const { features, labels, count, featureSize, classes } = dataset;
  if (features.length !== count * featureSize) {
    throw new DataValidationError(
      source,
      undefined,
      `expected ${count}×${featureSize} features, got ${features.length}`,
    );
  }
  if (labels.length !== count)
    throw new DataValidationError(source, undefined, `expected ${count} labels, got ${labels.length}`);
  for (let row = 0; row < count; row++) {
    const label = labels[row]!;
    if (label >= classes)
      throw new DataValidationError(source, row + 1, `label ${label} is outside [0, ${classes})`);
    for (let j = 0; j < featureSize; j++) {
      if (!Number.isFinite(features[row * featureSize + j]!)) {
        throw new DataValidationError(source, row + 1, `feature ${j} is not a finite number`);
      }
    }
  }
  return dataset;
}

/** A new dataset holding the given rows, in order. */
export function subset(dataset: Dataset, rows: readonly number[]): Dataset {
  const { featureSize } = dataset;
  const features = new Float32Array(rows.length * featureSize);
  const labels = new Uint8Array(rows.length);
  const source = dataset.groups;
  const groups = source === undefined ? undefined : new Uint16Array(rows.length);
  rows.forEach((row, i) => {
    features.set(dataset.features.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
    labels[i] = dataset.labels[row]!;
    if (groups !== undefined) groups[i] = source![row]!;
  });
  return {
    features,
    labels,
    count: rows.length,
    featureSize,
    classes: dataset.classes,
    ...(groups === undefined ? {} : { groups }),
  };
}
