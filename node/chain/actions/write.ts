/**
 * The one way a vAIn action changes chain state: simulate (so a revert comes back decoded before anything
 * is signed), write, wait for the receipt, decode any custom error into a typed one-line error
 * (revert.ts), parse the action's event from the receipt, and report progress on the way.
 */
import { parseEventLogs } from "viem";
import type {
  Abi,
  Address,
  Chain,
  ContractEventName,
  ContractFunctionArgs,
  ContractFunctionName,
  Hex,
  Log,
  SimulateContractParameters,
  TransactionReceipt,
} from "viem";

import { ChainError } from "../errors.ts";
import { TransactionFailedError, toChainError } from "../revert.ts";
import type { ChainReadClient, ChainWriteClient } from "./client.ts";

/** What sending needs: the clients and the progress callback, not the protocol's addresses. */
export type SendClient = Omit<ChainWriteClient, "contracts">;

type WriteFunctionName<abi extends Abi> = ContractFunctionName<abi, "nonpayable" | "payable">;

export interface WriteContractAndWaitParameters<
  abi extends Abi,
  functionName extends WriteFunctionName<abi>,
  eventName extends ContractEventName<abi> | undefined = undefined,
> {
  /** Names the action in progress events and error messages ("stake", "task fund"). */
  readonly action: string;
  readonly address: Address;
  readonly abi: abi;
  readonly functionName: functionName;
  readonly args?: ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>;
  /** The event the call must emit; its first occurrence in the receipt is returned, parsed. */
  readonly eventName?: eventName;
}

/** A decoded event log of `abi`. */
export type DecodedEvent<abi extends Abi, eventName extends ContractEventName<abi>> = Log<
  bigint,
  number,
  false,
  undefined,
  true,
  abi,
  eventName
>;

export interface WriteContractAndWaitReturnType<
  abi extends Abi,
  eventName extends ContractEventName<abi> | undefined,
> {
  readonly hash: Hex;
  readonly receipt: TransactionReceipt;
  /** The parsed `eventName` event (undefined when no event was asked for). */
  readonly event: eventName extends ContractEventName<abi> ? DecodedEvent<abi, eventName> : undefined;
}

/** Gas limit as a share of the estimate (%): headroom for a block that differs from the estimated one. */
export const GAS_HEADROOM_PERCENT = 125n;

/** A mined transaction lacks the event its action must emit (a contract/ABI mismatch, not a user error). */
export class MissingEventError extends ChainError {
  override readonly name = "MissingEventError";
  constructor(action: string, eventName: string, hash: Hex) {
    super("TX_FAILED", `${action}: no ${eventName} event in transaction ${hash} (is the ABI current?)`);
  }
}

/**
 * Sends one transaction with `send` (which returns its hash), waits for the receipt and reports progress;
 * every failure becomes a typed error naming `action` (see `toChainError`), a receipt with status
 * "reverted" a `TransactionFailedError`. `writeContractAndWait` is this with a simulation first.
 */
export async function sendAndWait(
  client: SendClient,
  action: string,
  send: () => Promise<Hex>,
): Promise<{ readonly hash: Hex; readonly receipt: TransactionReceipt }> {
  try {
    client.onProgress?.({ kind: "signing", action });
    const hash = await send();
    client.onProgress?.({ kind: "sent", action, hash });
    const receipt = await client.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new TransactionFailedError(action, hash);
    client.onProgress?.({ kind: "mined", action, hash, blockNumber: receipt.blockNumber });
    return { hash, receipt };
  } catch (error) {
    throw toChainError(action, error, client.rpcUrl);
  }
}

/**
 * Simulates, sends and waits for one contract call. Every failure becomes a typed error naming `action`
 * (`TransactionRevertedError` with the decoded custom error, `InsufficientGasFundsError`,
 * `ChainUnreachableError`, `TransactionFailedError` for a receipt with status "reverted").
 */
export async function writeContractAndWait<
  const abi extends Abi,
  functionName extends WriteFunctionName<abi>,
  eventName extends ContractEventName<abi> | undefined = undefined,
>(
  client: SendClient,
  parameters: WriteContractAndWaitParameters<abi, functionName, eventName>,
): Promise<WriteContractAndWaitReturnType<abi, eventName>> {
  const { action, address, abi, functionName, args, eventName } = parameters;
  const { hash, receipt } = await sendAndWait(client, action, async () => {
    // viem's own generics cannot follow a generic ABI through simulateContract; the shape is checked above.
    const { request } = await client.publicClient.simulateContract({
      account: client.walletClient.account,
      address,
      abi,
      functionName,
      args,
    } as unknown as SimulateContractParameters<Abi, string, readonly unknown[], Chain>);
    // Headroom over the estimate: the block that includes the transaction is not the one it was estimated on
    // (a later timestamp, another transaction first), and an estimate that fits one block exactly ran out of
    // gas in the next (openRound in a fresh-clone CI at load 12).
    const estimate = await client.publicClient.estimateContractGas(request);
    return client.walletClient.writeContract({ ...request, gas: (estimate * GAS_HEADROOM_PERCENT) / 100n });
  });
  let event: unknown = undefined;
  if (eventName !== undefined) {
    [event] = parseEventLogs({ abi: abi as Abi, eventName: eventName as string, logs: receipt.logs });
    if (event === undefined) throw new MissingEventError(action, eventName as string, hash);
  }
  return { hash, receipt, event } as WriteContractAndWaitReturnType<abi, eventName>;
}

/** Runs a read and maps transport failures to `ChainUnreachableError`. */
export async function readChain<T>(
  client: Pick<ChainReadClient, "rpcUrl">,
  what: string,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw toChainError(what, error, client.rpcUrl);
  }
}
