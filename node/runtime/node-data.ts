/** The node's training data, as its config names it: a directory of the operator's files, or an MNIST shard. */
import type { NodeConfig } from "../config/config.ts";
import type { Dataset } from "../training/data/dataset.ts";
import { loadDataDirectory } from "../training/data/files.ts";
import { loadMnist } from "../training/data/mnist.ts";
import { partition } from "../training/data/partition.ts";

/** The node's training data as configured. */
export async function loadNodeData(config: NodeConfig): Promise<{ train: Dataset; test: Dataset }> {
  if (config.data.kind === "directory") {
    const all = await loadDataDirectory(config.data.path);
    return { train: all, test: all };
  }
  const { train, test } = loadMnist({ seed: config.data.seed, testFraction: 0.2 });
  const shards = partition(train, config.data.shards, { kind: "iid" }, config.data.seed);
  const shard = shards[config.data.shard];
  if (shard === undefined)
    throw new RangeError(`data shard ${config.data.shard} of ${config.data.shards} does not exist`);
  return { train: shard, test };
}
