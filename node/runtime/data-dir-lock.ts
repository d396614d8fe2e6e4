/**
 * One node per data directory. Two processes on one directory would share a peer ID (admitted twice, evicting
 * each other) and write the same round state. The lock is a file created exclusively (`wx`) holding the
 * owner's PID; a second node refuses with the owner's PID. A lock left by a killed process (SIGKILL, power
 * loss) is stale when its PID no longer runs, or (Linux) when that PID is now another process: the lock also
 * holds the owner's start time since boot and the boot's id, because PIDs are reused. A stale lock whose PID a
 * busy machine had handed to another process made a restarted node refuse its own directory 101 times in a row
 * (60-minute soak, 2026-12-06), and a reboot does the same to a pidfile-style lock. Only the holder of a second,
 * short-lived exclusive file (`node.lock.takeover`) may remove a stale lock, and it re-reads the lock under it,
 * so of two nodes racing for a stale lock exactly one removes it and neither removes the other's fresh lock.
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
  /** Linux: the owner's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly processStart?: string;
  /** Linux: the id of the boot it ran in (/proc/sys/kernel/random/boot_id). */
  readonly bootId?: string;
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

/** The start time of process `pid` in clock ticks since boot (Linux), undefined where /proc cannot say. */
async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Fields after the command name, which is in parentheses and may itself hold spaces or parentheses.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields?.[19]; // field 22 of the whole line; the rest starts at field 3
}

async function bootId(): Promise<string | undefined> {
  return (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => undefined))?.trim();
}

/**
 * True while the lock's owner runs: its PID exists (signal 0; EPERM means it exists but is someone else's) and,
 * where the lock recorded them, in the same boot with the same start time (otherwise the PID was reused).
 */
async function isRunning(owner: DataDirLockOwner): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.bootId !== undefined) {
    const boot = await bootId();
    if (boot !== undefined && boot !== owner.bootId) return false;
  }
  if (owner.processStart !== undefined) {
    const start = await processStart(owner.pid);
    if (start !== undefined && start !== owner.processStart) return false;
  }
  return true;
}

async function readOwner(path: string): Promise<DataDirLockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<DataDirLockOwner>;
    if (typeof parsed.pid !== "number") return undefined;
    return {
      pid: parsed.pid,
      host: parsed.host ?? "?",
      startedAt: parsed.startedAt ?? "?",
      ...(typeof parsed.processStart === "string" ? { processStart: parsed.processStart } : {}),
      ...(typeof parsed.bootId === "string" ? { bootId: parsed.bootId } : {}),
    };
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
  const [start, boot] = await Promise.all([processStart(process.pid), bootId()]);
  const me: DataDirLockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...(start === undefined ? {} : { processStart: start }),
    ...(boot === undefined ? {} : { bootId: boot }),
  };
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
    if (owner !== undefined && (owner.host !== me.host || (await isRunning(owner)))) {
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
      if (again === undefined || (again.host === me.host && !(await isRunning(again)))) {
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
