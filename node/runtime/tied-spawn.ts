/**
 * Child processes that die with their parent, however the parent dies.
 *
 * A test file's `after` hook, or a node's SIGTERM handler, stops its children only when it runs: a test runner
 * that cancels a file at its timeout, a SIGKILL or a crash skips it, and the children (nodes, a Hardhat chain)
 * kept running, holding fixed test ports that the next run then found taken. On Linux the child runs under
 * `setpriv --pdeathsig KILL` (util-linux), so the kernel kills it when its parent exits; setpriv execs the command
 * in place, so the PID the parent holds is the child's own. Elsewhere it is a plain spawn.
 */
import { spawn } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";

const SETPRIV = "/usr/bin/setpriv";
const PDEATHSIG = process.platform === "linux" && existsSync(SETPRIV);

/** `spawn(command, args, options)`, the child killed by the kernel when this process exits (Linux). */
export function spawnTied(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return PDEATHSIG
    ? spawn(SETPRIV, ["--pdeathsig", "KILL", command, ...args], options)
    : spawn(command, args, options);
}
