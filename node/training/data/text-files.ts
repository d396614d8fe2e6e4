/**
 * A directory of text files as a next-character dataset for the transformer: every `.txt` file (UTF-8) is
 * one group — `partition(…, { kind: "group" })` keeps a file on one node — cut into windows like the
 * WordNet task (text/windows.ts). A file that is not valid UTF-8 is named in the error.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

import { TRANSFORMER_CONTEXT } from "../constants.ts";
import { textWindows } from "../text/windows.ts";
import { DataValidationError } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";

const TEXT = /\.txt$/i;

/** Whether `dir` holds `.txt` files. */
export async function isTextDirectory(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((n) => TEXT.test(n));
  } catch {
    return false;
  }
}

/** Rows of `context` characters from every `.txt` file of `dir` (sorted by name; group = file index). */
export async function loadTextDirectory(
  dir: string,
  options: { context?: number } = {},
): Promise<Dataset & { files: string[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => TEXT.test(n)).sort();
  } catch (error) {
    throw new DataValidationError(dir, undefined, `cannot read directory: ${(error as Error).message}`);
  }
  if (names.length === 0) throw new DataValidationError(dir, undefined, "no .txt files");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const groups = [];
  for (const [group, name] of names.entries()) {
    const path = join(dir, name);
    let text: string;
    try {
      text = decoder.decode(await readFile(path));
    } catch (error) {
      throw new DataValidationError(path, undefined, `not UTF-8 text: ${(error as Error).message}`);
    }
    // Paragraphs (blank-line separated) are the texts: each starts after a boundary id, as a gloss does.
    const texts = text
      .split(/\r?\n\s*\r?\n/)
      .map((p) => p.replace(/\s+/g, " ").trim())
      .filter((p) => p !== "");
    groups.push({ group, texts });
  }
  const data = textWindows(groups, options.context ?? TRANSFORMER_CONTEXT);
  if (data.count === 0) {
    throw new DataValidationError(
      dir,
      undefined,
      `less text than one window of ${options.context ?? TRANSFORMER_CONTEXT} characters`,
    );
  }
  return { ...data, files: names };
}
