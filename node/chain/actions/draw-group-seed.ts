/**
 * Draws the current group epoch's seed if nobody has (`drawGroupSeed`, docs/protocol.md §7); anyone may. Two
 * steps, as a round's draws: the first call names a seed block SEED_BLOCK_DELAY blocks ahead, whose `prevrandao`
 * nobody sending it knows; once that block is mined, a call with its header fixes the seed,
 * `keccak(prevrandao, epoch)`. Any node may take either step: this action reads where the draw stands and takes
 * the next one until the seed is fixed, so nodes that start drawing at once end with the same seed.
 */
import { setTimeout as delay } from "node:timers/promises";

import { trainingRoundsAbi } from "../contracts.ts";
import { BLOCKHASH_WINDOW, readBlockHeader } from "../draws.ts";
import { TransactionRevertedError } from "../revert.ts";
import type { ChainWriteClient } from "./client.ts";
import { groupEpochAt, readGroupSeedDraw } from "./read-group-seed.ts";
import type { GroupSeed } from "./read-group-seed.ts";
import { readChain, writeContractAndWait } from "./write.ts";

export interface DrawGroupSeedParameters {
  /**
   * Mines one block. For a chain that makes blocks only for transactions (a test chain with automining alone):
   * the seed block must be mined before the seed can be fixed. Omit on a chain that makes blocks by itself.
   */
  readonly mine?: () => Promise<void>;
  /** Ends the wait for the seed block (and the draw) early. */
  readonly signal?: AbortSignal;
  /** Each step is put off by a random share of this (ms) first: GROUP_SEED_STEP_SPREAD_MS by default. */
  readonly spreadMs?: number;
}

/** The fixed seed of the epoch current when it was fixed (by this call or by anyone before). */
export type DrawGroupSeedReturnType = GroupSeed;

/**
 * Transactions one draw may send before it gives up: two if nobody else draws; each refused send (another node
 * took the same step first, so the state moved) is followed by a fresh read.
 */
export const GROUP_SEED_DRAW_SENDS = 6;
/** How often the seed block is looked for (ms): a few times per block on a 12 s chain, or per local block. */
export const GROUP_SEED_POLL_MS = 1_000;
/**
 * Each step is put off by a random share of this (ms), then the draw read again: the nodes of a hierarchy find the
 * seed missing at the same moment (an epoch's start, a group round opening), and without it each would send the
 * same step (a late arm reverts, a late fix is a ~30k gas no-op). The node whose call named the seed block fixes it
 * at once. The seed is not urgent: a group round's commit window is minutes long.
 */
export const GROUP_SEED_STEP_SPREAD_MS = 20_000;
/** How long a chain may make no block before the draw gives up (ms): a stalled chain is an error, not a wait. */
export const GROUP_SEED_STALL_MS = 300_000;

/** Error: the draw could not fix the seed (a chain that stopped making blocks, or sends refused every time). */
export class GroupSeedDrawError extends Error {
  override readonly name = "GroupSeedDrawError";
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`the group seed could not be drawn: ${detail}`, options);
  }
}

export async function drawGroupSeed(
  client: ChainWriteClient,
  { mine, signal, spreadMs = GROUP_SEED_STEP_SPREAD_MS }: DrawGroupSeedParameters = {},
): Promise<DrawGroupSeedReturnType> {
  let sends = 0;
  /** The step this draw last put off (taken when it is still due after the wait), and the epoch it armed. */
  let putOff: string | undefined;
  let armed: bigint | undefined;
  let lastRefusal: unknown;
  let head = -1n;
  let headSince = Date.now();
  for (;;) {
    signal?.throwIfAborted();
    const latest = await readChain(client, "read the chain head", () =>
      client.publicClient.getBlock({ blockTag: "latest" }),
    );
    if (latest.number !== head) [head, headSince] = [latest.number, Date.now()];
    const epoch = groupEpochAt(latest.timestamp);
    const draw = await readGroupSeedDraw(client, { epoch });
    if (draw.seed !== undefined) return draw.seed;
    const arming = draw.seedBlock === 0n || latest.number > draw.seedBlock + BLOCKHASH_WINDOW;
    if (!arming && latest.number <= draw.seedBlock) {
      if (mine !== undefined) await mine();
      else if (Date.now() - headSince > GROUP_SEED_STALL_MS)
        throw new GroupSeedDrawError(`the chain made no block for ${GROUP_SEED_STALL_MS / 1000} s`);
      else await delay(GROUP_SEED_POLL_MS, undefined, { signal });
      continue;
    }
    const step = arming ? `arm ${epoch} after ${draw.seedBlock}` : `fix ${draw.seedBlock}`;
    if (spreadMs > 0 && step !== putOff && !(!arming && armed === epoch)) {
      putOff = step;
      await delay(Math.random() * spreadMs, undefined, { signal });
      continue;
    }
    if (await takenInMempool(client, epoch, draw.seedBlock, arming)) {
      await delay(GROUP_SEED_POLL_MS, undefined, { signal });
      continue;
    }
    if (arming) {
      // Names the seed block ahead (again, if the last one went stale).
      lastRefusal = await send(client, "0x");
      if (lastRefusal === undefined) armed = epoch;
    } else {
      const header = await readBlockHeader(client.publicClient, draw.seedBlock);
      lastRefusal = await send(client, header);
    }
    if (++sends >= GROUP_SEED_DRAW_SENDS)
      throw new GroupSeedDrawError(`${sends} transactions did not fix it`, { cause: lastRefusal });
  }
}

/**
 * Whether another node's transaction taking this step is pending: the pending block's draw has moved past the
 * head's (a new seed block named, or the seed fixed). On a chain with a public mempool the nodes that found the
 * seed missing within one block of each other would otherwise all send the step into the same block (with 12 s
 * blocks and the 20 s spread, over half of them): the late arms revert, the late fixes are ~30k gas no-ops. An
 * endpoint without a pending block answers as of the head, or fails: then the step is sent, as before.
 */
async function takenInMempool(
  client: ChainWriteClient,
  epoch: bigint,
  seedBlock: bigint,
  arming: boolean,
): Promise<boolean> {
  try {
    const pending = await readGroupSeedDraw(client, { epoch, blockTag: "pending" });
    return arming ? pending.seedBlock !== seedBlock : pending.seed !== undefined;
  } catch {
    return false;
  }
}

/** Sends one step; a revert (another node took this step first) is returned, to be followed by a fresh read. */
async function send(client: ChainWriteClient, header: `0x${string}`): Promise<unknown> {
  try {
    await writeContractAndWait(client, {
      action: "group seed draw",
      address: client.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "drawGroupSeed",
      args: [header],
    });
    return undefined;
  } catch (error) {
    if (error instanceof TransactionRevertedError) return error;
    throw error;
  }
}
