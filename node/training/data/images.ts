/**
 * A directory of images as a classification dataset: one sub-directory per class (sorted names give the
 * class numbers), PNG (pngjs) or JPEG (jpeg-js) files inside. Pixels become grey levels in [0, 1] (the
 * models take one channel), resampled (nearest neighbour) to `side`×`side` — by default the first image's
 * size, which must then be square. A file that does not decode is named in the error.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

import jpeg from "jpeg-js";
import { PNG } from "pngjs";

import { DataValidationError, validateDataset } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";

const IMAGE = /\.(png|jpe?g)$/i;
/** jpeg-js refuses larger images by default too; a training image has no reason to be bigger. */
const MAX_IMAGE_MEGAPIXELS = 64;

interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

function decode(path: string, bytes: Buffer): Rgba {
  try {
    if (/\.png$/i.test(path)) return PNG.sync.read(bytes);
    return jpeg.decode(bytes, { useTArray: true, maxResolutionInMP: MAX_IMAGE_MEGAPIXELS });
  } catch (error) {
    throw new DataValidationError(path, undefined, `cannot decode image: ${(error as Error).message}`);
  }
}

/** Grey levels of `image` resampled to side×side. */
function grey(image: Rgba, side: number, out: Float32Array, at: number): void {
  for (let r = 0; r < side; r++) {
    const y = Math.min(image.height - 1, Math.floor(((r + 0.5) * image.height) / side));
    for (let c = 0; c < side; c++) {
      const x = Math.min(image.width - 1, Math.floor(((c + 0.5) * image.width) / side));
      const p = (y * image.width + x) * 4;
      // ITU-R BT.601 luma, the usual greyscale conversion.
      const luma = 0.299 * image.data[p]! + 0.587 * image.data[p + 1]! + 0.114 * image.data[p + 2]!;
      out[at + r * side + c] = luma / 255;
    }
  }
}

async function list(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .map((e) => ({ name: e.name, isDir: e.isDirectory() }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    throw new DataValidationError(dir, undefined, `cannot read directory: ${(error as Error).message}`);
  }
}

/** Whether `dir` looks like an image dataset (sub-directories holding PNG/JPEG files). */
export async function isImageDirectory(dir: string): Promise<boolean> {
  for (const entry of await list(dir)) {
    if (entry.isDir && (await list(join(dir, entry.name))).some((f) => IMAGE.test(f.name))) return true;
  }
  return false;
}

/** Loads class folders of PNG/JPEG images; `classNames[i]` is class i's folder. */
export async function loadImageDirectory(
  dir: string,
  options: { side?: number } = {},
): Promise<Dataset & { classNames: string[] }> {
  const classNames = (await list(dir)).filter((e) => e.isDir).map((e) => e.name);
  if (classNames.length < 2)
    throw new DataValidationError(dir, undefined, "needs one sub-directory per class, at least two");
  const files: { path: string; label: number }[] = [];
  for (const [label, name] of classNames.entries()) {
    for (const f of await list(join(dir, name))) {
      if (f.isDir) continue;
      const path = join(dir, name, f.name);
      if (!IMAGE.test(f.name))
        throw new DataValidationError(path, undefined, "not a .png, .jpg or .jpeg file");
      files.push({ path, label });
    }
  }
  if (files.length === 0) throw new DataValidationError(dir, undefined, "no images in the class folders");
  let side = options.side;
  const featuresOf: Float32Array[] = [];
  for (const { path } of files) {
    const image = decode(path, await readFile(path));
    if (side === undefined) {
      if (image.width !== image.height) {
        throw new DataValidationError(
          path,
          undefined,
          `${image.width}×${image.height} is not square: give a side to resample to`,
        );
      }
      side = image.width;
    }
    const out = new Float32Array(side * side);
    grey(image, side, out, 0);
    featuresOf.push(out);
  }
  const featureSize = side! * side!;
  const features = new Float32Array(files.length * featureSize);
  featuresOf.forEach((f, i) => features.set(f, i * featureSize));
  const labels = Uint8Array.from(files, (f) => f.label);
  const dataset = validateDataset(
    { features, labels, count: files.length, featureSize, classes: classNames.length },
    dir,
  );
  return { ...dataset, classNames };
}
