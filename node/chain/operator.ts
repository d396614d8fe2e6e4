/**
 * The operator's contexts as the CLI opens them: the action client (actions/client.ts) plus the verified
 * deployment it came from. The actions themselves live in actions/, one per file.
 */
import type { Address } from "viem";

import type { ChainReadClient, ChainWriteClient, ProtocolAddresses } from "./actions/client.ts";
import type { Deployment } from "./deployment.ts";

export type { ProtocolAddresses, TxProgress } from "./actions/client.ts";

/** Read-only access: enough for `readOperatorStatus`. */
export interface ReadContext extends ChainReadClient {
  readonly deployment: Deployment;
}

/** Signing access: every state-changing action. */
export interface OperatorContext extends ReadContext, ChainWriteClient {}

/** Contract addresses of a deployment, typed for viem. */
export function protocolAddresses(deployment: Deployment): ProtocolAddresses {
  return {
    token: deployment.contracts.VainToken.address as Address,
    registry: deployment.contracts.StakeRegistry.address as Address,
    rounds: deployment.contracts.TrainingRounds.address as Address,
  };
}
