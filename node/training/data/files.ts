/**
 * Loaders for user data on disk: IDX files (MNIST / Fashion-MNIST format) and CSV tabular data
 * (features then a label column). Every malformed input raises `DataValidationError` naming file and row.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

import { DataValidationError, validateDataset } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";
import { DEFAULT_IDX_CLASSES } from "../constants.ts";
import { isImageDirectory, loadImageDirectory } from "./images.ts";
import { isTextDirectory, loadTextDirectory } from "./text-files.ts";

const IDX_UBYTE = 0x08;

async function readMaybeGzip(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DataValidationError(path, undefined, `cannot read: ${(error as Error).message}`);
  }
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

function parseIdx(path: string, bytes: Buffer, expectedDims: number): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4) throw new DataValidationError(path, undefined, "too short for an IDX header");
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== IDX_UBYTE) {
    throw new DataValidationError(path, undefined, "not an unsigned-byte IDX file (bad magic number)");
  }
  const rank = bytes[3]!;
  if (rank !== expectedDims)
    throw new DataValidationError(path, undefined, `expected ${expectedDims} dimensions, found ${rank}`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new DataValidationError(path, undefined, "truncated IDX header");
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size) {
    throw new DataValidationError(
      path,
      undefined,
      `expected ${size} data bytes, found ${bytes.length - header}`,
    );
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, size) };
}

/** Loads an IDX image file and its IDX label file (optionally gzipped); pixels scaled to [0, 1]. */
export async function loadIdx(
  imagesPath: string,
  labelsPath: string,
  classes = DEFAULT_IDX_CLASSES,
): Promise<Dataset> {
  const images = parseIdx(imagesPath, await readMaybeGzip(imagesPath), 3);
  const labels = parseIdx(labelsPath, await readMaybeGzip(labelsPath), 1);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new DataValidationError(
      labelsPath,
      undefined,
      `${labels.dims[0]} labels for ${count} images in ${imagesPath}`,
    );
  }
  const features = new Float32Array(images.data.length);
  for (let i = 0; i < features.length; i++) features[i] = images.data[i]! / 255;
  return validateDataset(
    { features, labels: Uint8Array.from(labels.data), count, featureSize: rows * cols, classes },
    labelsPath,
  );
}

/**
 * Loads CSV rows `f1,…,fk,label` (a header line is skipped when its first field is not a number).
 * `classes` defaults to max label + 1.
 */
export async function loadCsv(path: string, options: { classes?: number } = {}): Promise<Dataset> {
  const text = (await readMaybeGzip(path)).toString("utf8");
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (lines.length > 0 && Number.isNaN(Number(lines[0]!.split(",")[0]))) lines.shift();
  if (lines.length === 0) throw new DataValidationError(path, undefined, "no data rows");
  const width = lines[0]!.split(",").length;
  if (width < 2) throw new DataValidationError(path, 1, "a row needs at least one feature and a label");
  const featureSize = width - 1;
  const features = new Float32Array(lines.length * featureSize);
  const labels = new Uint8Array(lines.length);
  lines.forEach((line, row) => {
    const fields = line.split(",");
    if (fields.length !== width)
      throw new DataValidationError(path, row + 1, `expected ${width} fields, found ${fields.length}`);
    for (let j = 0; j < featureSize; j++) {
      const value = Number(fields[j]);
      if (!Number.isFinite(value))
        throw new DataValidationError(path, row + 1, `field ${j + 1} "${fields[j]}" is not a number`);
      features[row * featureSize + j] = value;
    }
    const label = Number(fields[featureSize]);
    if (!Number.isInteger(label) || label < 0 || label > 255) {
      throw new DataValidationError(path, row + 1, `label "${fields[featureSize]}" is not a class index`);
    }
    labels[row] = label;
  });
  const classes = options.classes ?? Math.max(...labels) + 1;
  return validateDataset({ features, labels, count: lines.length, featureSize, classes }, path);
}

/**
 * Loads a node's own data directory: an IDX pair (`*images*` and `*labels*` files, optionally `.gz`), a
 * single `.csv` file, class folders of PNG/JPEG images (images.ts) or `.txt` files (text-files.ts, rows of
 * `context` characters). Raises `DataValidationError` naming the directory when none is there.
 */
export async function loadDataDirectory(
  dir: string,
  options: { classes?: number; context?: number; side?: number } = {},
): Promise<Dataset> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new DataValidationError(dir, undefined, `cannot read directory: ${(error as Error).message}`);
  }
  const images = names.find((n) => /images/i.test(n) && /idx/i.test(n));
  const labels = names.find((n) => /labels/i.test(n) && /idx/i.test(n));
  if (images !== undefined && labels !== undefined)
    return loadIdx(join(dir, images), join(dir, labels), options.classes ?? DEFAULT_IDX_CLASSES);
  const csv = names.filter((n) => /\.csv(\.gz)?$/i.test(n));
  if (csv.length === 1) return loadCsv(join(dir, csv[0]!), options);
  if (csv.length === 0 && (await isImageDirectory(dir))) return loadImageDirectory(dir, options);
  if (csv.length === 0 && (await isTextDirectory(dir))) return loadTextDirectory(dir, options);
  throw new DataValidationError(
    dir,
    undefined,
    csv.length > 1
      ? "more than one CSV file: keep one per data directory"
      : "no IDX image/label pair, CSV file, image class folders or .txt files found",
  );
}
