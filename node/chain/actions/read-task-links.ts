/**
 * Group tasks and their parent (docs/protocol.md §3 "Group tasks and partials", §7), read from `TaskLinked`
 * events: the contract keeps each child's parent in storage without a getter, and a link is never undone, so
 * the events are the whole record. Only the creator of both tasks can link them (`InvalidLink` otherwise), so
 * every link found here was made by the tasks' creator.
 */
import type { ChainReadClient } from "./client.ts";
import { trainingRoundsAbi } from "../contracts.ts";
import { readChain } from "./write.ts";

export interface ReadTaskLinksParameters {
  /** First block to scan (default 0: the whole chain, fine for a local or young chain). */
  readonly fromBlock?: bigint;
}

/** A parent task's group tasks, in link order (the order `createGroupTasks` created them in); [] if none. */
export async function readGroupTasks(
  client: ChainReadClient,
  { parentTaskId, fromBlock }: ReadTaskLinksParameters & { readonly parentTaskId: bigint },
): Promise<readonly bigint[]> {
  const events = await readChain(client, "read the task's group tasks", () =>
    client.publicClient.getContractEvents({
      address: client.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "TaskLinked",
      args: { parentTaskId },
      fromBlock: fromBlock ?? 0n,
    }),
  );
  return events.flatMap((e) => (e.args.childTaskId === undefined ? [] : [e.args.childTaskId]));
}

/** The parent of a group task, or undefined for a task that is not a group task (a child links once). */
export async function readParentTask(
  client: ChainReadClient,
  { childTaskId, fromBlock }: ReadTaskLinksParameters & { readonly childTaskId: bigint },
): Promise<bigint | undefined> {
  const [event] = await readChain(client, "read the task's parent", () =>
    client.publicClient.getContractEvents({
      address: client.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "TaskLinked",
      args: { childTaskId },
      fromBlock: fromBlock ?? 0n,
    }),
  );
  return event?.args.parentTaskId;
}
