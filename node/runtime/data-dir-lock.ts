/**
 * One node per data directory. Two processes on one directory would share a peer ID (admitted twice, evicting
 * each other) and write the same round state. The lock is a file created exclusively (`wx`) holding the
 * owner's PID; a second node refuses with the owner's PID. A lock left by a killed process (SIGKILL, power
 * loss) is stale when its PID no longer runs. Only the holder of a second, short-lived exclusive file
 * (`node.lock.takeover`) may remove a stale lock, and it re-reads the lock under it, so of two nodes racing for
 * a stale lock exactly one removes it and neither removes the other's fresh lock.
 */
import { hostname } from "node:os";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** File name of the lock inside the data directory. */
export const DATA_DIR_LOCK_FILE = "node.lock";
/** A takeover file older than this was left by a process killed mid-takeover (which takes milliseconds). */
const TAKEOVER_STALE_MS = 10_000;
/** An unreadable lock younger than this may be a node writing it right now: wait before calling it stale. */
const UNREADABLE_LOCK_GRACE_MS = 1_000;

export interface DataDirLockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** The data directory is in use by a running node. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly code = "DATA_DIR_LOCKED";
  readonly shortMessage: string;
  readonly owner: DataDirLockOwner;

  constructor(dataDir: string, owner: DataDirLockOwner) {
    const message = `data directory ${dataDir} is in use by another vain-node (PID ${owner.pid} on ${owner.host}, since ${owner.startedAt}): stop it first, or give this node its own --data-dir`;
    super(message);
    this.shortMessage = message;
    this.owner = owner;
  }
}

/** True while `pid` runs (signal 0 checks existence; EPERM means it exists but is someone else's). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(path: string): Promise<DataDirLockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<DataDirLockOwner>;
    if (typeof parsed.pid !== "number") return undefined;
    return { pid: parsed.pid, host: parsed.host ?? "?", startedAt: parsed.startedAt ?? "?" };
  } catch {
    return undefined;
  }
}

export interface DataDirLock {
  readonly path: string;
  /** The stale owner this lock replaced, if any (for the log). */
  readonly tookOverFrom: DataDirLockOwner | undefined;
  release(): Promise<void>;
}

/**
 * Takes the data directory's lock or throws `DataDirLockedError`. A lock on another host cannot be checked
 * for liveness and is treated as held (a shared network directory needs its owner to stop first).
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const me: DataDirLockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  let tookOverFrom: DataDirLockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o600 });
      return {
        path,
        tookOverFrom,
        release: async () => {
          const owner = await readOwner(path);
          if (owner?.pid === me.pid && owner.startedAt === me.startedAt) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await readOwner(path);
    if (owner !== undefined && (owner.host !== me.host || isRunning(owner.pid))) {
      throw new DataDirLockedError(dataDir, owner);
    }
    if (owner === undefined) {
      // Unreadable: a crash mid-write, or a node writing it right now; only the former is old.
      const age = await stat(path).then(
        (info) => Date.now() - info.mtimeMs,
        () => Infinity,
      );
      if (age < UNREADABLE_LOCK_GRACE_MS) {
        await new Promise((resolve) => setTimeout(resolve, UNREADABLE_LOCK_GRACE_MS));
        continue;
      }
    }
    // Stale (its process is gone) or unreadable (a crash mid-write): remove it under the takeover file.
    const takeover = `${path}.takeover`;
    const takeoverAge = await stat(takeover).then(
      (info) => Date.now() - info.mtimeMs,
      () => undefined,
    );
    if (takeoverAge !== undefined && takeoverAge > TAKEOVER_STALE_MS) await rm(takeover, { force: true });
    try {
      await writeFile(takeover, `${process.pid}\n`, { flag: "wx" });
    } catch {
      continue; // another node is taking over: retry, and its fresh lock then refuses this one
    }
    try {
      const again = await readOwner(path);
      if (again === undefined || (again.host === me.host && !isRunning(again.pid))) {
        tookOverFrom = again ?? owner ?? { pid: 0, host: me.host, startedAt: "?" };
        await rm(path, { force: true });
      }
    } finally {
      await rm(takeover, { force: true });
    }
  }
  const owner = await readOwner(path);
  throw new DataDirLockedError(dataDir, owner ?? { pid: 0, host: "?", startedAt: "?" });
}
