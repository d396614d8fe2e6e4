/**
 * `--task <id>` for commands that act on one task (aggregator opt-in, status, model export): the flag, else the
 * `taskId` of the data directory's config (the task the node follows), as `vain-node start` reads it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

import { parseId } from "../chain/ids.ts";
import { readConfigFile, resolveConfig } from "../config/config.ts";

export const TASK_OPTION = "--task <id>";
export const TASK_OPTION_HELP = "task ID (default: the config's taskId, the task this node follows)";

/** The task a command acts on: `flag` if given, else the config's `taskId` in `dataDir`. */
export function resolveTaskId(flag: string | undefined, dataDir: string): bigint {
  if (flag !== undefined) return parseId(flag, "task ID");
  const configPath = join(dataDir, "config.json");
  const file = existsSync(configPath) ? readConfigFile(configPath) : {};
  return BigInt(resolveConfig({ file }).taskId);
}
