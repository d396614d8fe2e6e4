/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over the target,
 * then fsync the directory so the rename itself is durable. A crash at any point leaves either the old file or
 * the new one, never a half-written file under the target name.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DEFAULT_FILE_MODE } from "./constants.ts";

/** Suffix of temp files; stores sweep leftovers with this suffix on open (a crash between write and rename). */
export const TEMP_SUFFIX = ".tmp";

export interface WriteFileAtomicOptions {
  /** File mode of the new file (default 0o644; keys and state use 0o600). */
  readonly mode?: number;
  /** Skip the fsyncs (tests and throwaway caches only: loses durability, keeps atomicity). */
  readonly noSync?: boolean;
}

/** True when `name` is a temp file left by {@link writeFileAtomic}. */
export function isTempFile(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** Atomically replaces `path` with `data` (temp + fsync + rename + directory fsync). */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  const handle = await open(temp, "wx", options.mode ?? DEFAULT_FILE_MODE);
  try {
    await handle.writeFile(data);
    if (options.noSync !== true) await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (options.noSync !== true) await syncDirectory(dir);
}

/** fsyncs a directory so a rename inside it survives power loss; a no-op where directories cannot be opened. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // Some platforms (Windows) refuse fsync on directories; atomicity still holds.
  } finally {
    await handle.close();
  }
}
