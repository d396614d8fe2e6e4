/** Draws the current group epoch's seed if nobody has (`drawGroupSeed`, docs/protocol.md §7); anyone may. */
import { trainingRoundsAbi } from "../contracts.ts";
import type { ChainWriteClient } from "./client.ts";
import { groupEpochAt, readGroupSeed } from "./read-group-seed.ts";
import type { GroupSeed } from "./read-group-seed.ts";
import { writeContractAndWait } from "./write.ts";

/** The drawn seed of the epoch the transaction was mined in (drawn by it or before). */
export type DrawGroupSeedReturnType = GroupSeed;

/** Error: the transaction was mined but the epoch's seed cannot be read back (a chain that was reset between). */
export class GroupSeedUnreadableError extends Error {
  override readonly name = "GroupSeedUnreadableError";
  readonly epoch: bigint;
  constructor(epoch: bigint) {
    super(`the group seed of epoch ${epoch} was drawn but cannot be read back`);
    this.epoch = epoch;
  }
}

export async function drawGroupSeed(client: ChainWriteClient): Promise<DrawGroupSeedReturnType> {
  const { receipt } = await writeContractAndWait(client, {
    action: "group seed draw",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "drawGroupSeed",
    args: [],
  });
  const block = await client.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  const epoch = groupEpochAt(block.timestamp);
  const seed = await readGroupSeed(client, { epoch });
  if (seed === undefined) throw new GroupSeedUnreadableError(epoch);
  return seed;
}
