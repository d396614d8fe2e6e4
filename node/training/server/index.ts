/**
 * Server optimizers: one file per optimizer, this array the only list of them. Names, the factory and
 * every option list derive from it; a new optimizer is one new file and one line here.
 */
import { fedAdamOptimizer, fedYogiOptimizer } from "./adaptive.ts";
import { dilocoOptimizer } from "./diloco.ts";
import { fedAvgOptimizer } from "./fedavg.ts";
import { reptileOptimizer } from "./reptile.ts";
import type { ServerOptimizer, ServerOptimizerDescriptor, ServerOptimizerOptions } from "./types.ts";

export { AdaptiveServer } from "./adaptive.ts";
export { DiLoCoServer } from "./diloco.ts";
export { FedAvgServer } from "./fedavg.ts";
export { reptileServer } from "./reptile.ts";
export type { ServerOptimizer, ServerOptimizerDescriptor, ServerOptimizerOptions } from "./types.ts";

export const SERVER_OPTIMIZERS = [
  fedAvgOptimizer,
  fedAdamOptimizer,
  fedYogiOptimizer,
  dilocoOptimizer,
  reptileOptimizer,
] as const;

export type ServerOptimizerName = (typeof SERVER_OPTIMIZERS)[number]["name"];

/** Every optimizer's name, in registry order. */
export const SERVER_OPTIMIZER_NAMES: readonly ServerOptimizerName[] = SERVER_OPTIMIZERS.map((o) => o.name);

/** Optimizers a task may choose as its server step (the node recomputes them each round). */
export const TASK_SERVER_OPTIMIZERS = SERVER_OPTIMIZERS.filter((o) => o.taskOption).map((o) => o.name) as [
  ServerOptimizerName,
  ...ServerOptimizerName[],
];

/** A server optimizer's registry entry by name. */
export function serverOptimizerDescriptor(name: ServerOptimizerName): ServerOptimizerDescriptor {
  const descriptor = SERVER_OPTIMIZERS.find((o) => o.name === name);
  if (descriptor === undefined) throw new RangeError(`unknown server optimizer "${String(name)}"`);
  return descriptor;
}

/** A server optimizer by name, with its defaults unless `options` set them. */
export function createServerOptimizer(
  name: ServerOptimizerName,
  options: ServerOptimizerOptions = {},
): ServerOptimizer {
  return serverOptimizerDescriptor(name).create(options);
}
