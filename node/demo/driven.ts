/**
 * What a round driver (rounds.ts `runRound`, lockstep.ts) reads of a local network: the chain, the task, and each
 * node's address and participant state. A `LocalVainNetwork` is one; so is a network whose nodes run in other
 * processes (scripts/bench/round-hosts.ts), whose participants answer from the state their host last reported.
 */
import type { Address, Chain, PublicClient, Transport } from "viem";

import type { RoundParticipant } from "../protocol/round/index.ts";
import type { LocalVainNetwork } from "./network.ts";

/** The participant state and calls a driver uses. */
export type DrivenParticipant = Pick<
  RoundParticipant,
  "running" | "progress" | "outcome" | "stats" | "currentModel" | "ensureModel"
>;

/** A node as a driver sees it. */
export interface DrivenNode {
  readonly index: number;
  readonly account: { readonly address: Address };
  readonly participant: DrivenParticipant;
}

/** A network (one task's view of it) as a driver sees it. */
export interface DrivenNetwork extends Pick<
  LocalVainNetwork,
  "treasury" | "contracts" | "taskId" | "spec" | "test" | "trainers" | "answerWindowS"
> {
  readonly chain: { readonly rpcUrl: string };
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly pool: Pick<LocalVainNetwork["pool"], "evaluate">;
  readonly nodes: readonly DrivenNode[];
}
