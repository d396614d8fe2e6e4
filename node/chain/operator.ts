/**
 * What every operator action needs: the clients, the verified deployment, and one way to send a
 * transaction (simulate first so reverts come back decoded before anything is signed, send, wait for the
 * receipt, report progress). The actions themselves live in staking.ts, tasks.ts, rewards.ts and
 * operator-status.ts.
 */
import type {
  Account,
  Address,
  Chain,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from "viem";

import type { Deployment } from "./deployment.ts";
import { TransactionFailedError, toChainError } from "./revert.ts";

/** Progress of one action, for a status line ("waiting for transaction…"). */
export type TxProgress =
  | { readonly kind: "signing"; readonly action: string }
  | { readonly kind: "sent"; readonly action: string; readonly hash: Hex }
  | { readonly kind: "mined"; readonly action: string; readonly hash: Hex; readonly blockNumber: bigint };

/** Read-only access: enough for `readOperatorStatus`. */
export interface ReadContext {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly deployment: Deployment;
  /** Used in "cannot reach a chain at …" messages. */
  readonly rpcUrl?: string;
}

/** Signing access: every state-changing action. */
export interface OperatorContext extends ReadContext {
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  readonly onProgress?: (event: TxProgress) => void;
}

/** The three contract addresses an operator talks to. */
export interface ProtocolAddresses {
  readonly token: Address;
  readonly registry: Address;
  readonly rounds: Address;
}

/** Contract addresses of a deployment, typed for viem. */
export function protocolAddresses(deployment: Deployment): ProtocolAddresses {
  return {
    token: deployment.contracts.VainToken.address as Address,
    registry: deployment.contracts.StakeRegistry.address as Address,
    rounds: deployment.contracts.TrainingRounds.address as Address,
  };
}

/** The signing account's address. */
export function operatorAddress(ctx: OperatorContext): Address {
  return ctx.walletClient.account.address;
}

/** A mined, successful transaction. */
export interface SentTransaction {
  readonly hash: Hex;
  readonly receipt: TransactionReceipt;
}

/**
 * Runs `send` (which simulates the call and then writes it, returning the hash), waits for the receipt and
 * reports progress. Every failure becomes a typed error naming `action` (see `toChainError`); a receipt with
 * status "reverted" becomes `TransactionFailedError`.
 */
export async function submitTransaction(
  ctx: OperatorContext,
  action: string,
  send: () => Promise<Hex>,
): Promise<SentTransaction> {
  try {
    ctx.onProgress?.({ kind: "signing", action });
    const hash = await send();
    ctx.onProgress?.({ kind: "sent", action, hash });
    const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new TransactionFailedError(action, hash);
    ctx.onProgress?.({ kind: "mined", action, hash, blockNumber: receipt.blockNumber });
    return { hash, receipt };
  } catch (error) {
    throw toChainError(action, error, ctx.rpcUrl);
  }
}

/** Runs a read and maps transport failures to `ChainUnreachableError`. */
export async function readChain<T>(ctx: ReadContext, what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw toChainError(what, error, ctx.rpcUrl);
  }
}
