/**
 * The two-step draws of a round (docs/protocol.md §3): after `lockSelection` (or `postAggregate` for the
 * samples) the contract names a seed block; once it is mined, `selectAggregator` / `drawSamples` take that
 * block's RLP-encoded header, whose keccak is its hash and whose `mixHash` is its `prevrandao`. This module
 * builds those calls from chain reads, so the keeper, the fixtures and the benches share one way to do it.
 */
import { keccak256, toRlp } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { ChainError } from "./errors.ts";
import { trainingRoundsAbi } from "./contracts.ts";

/** Blocks whose hash the EVM still serves (`blockhash`): an older seed block must be re-locked or re-drawn. */
export const BLOCKHASH_WINDOW = 256n;

/** Header fields in their RLP order, as `eth_getBlockByNumber` names them; later forks append fields. */
const HEADER_FIELDS = [
  "parentHash",
  "sha3Uncles",
  "miner",
  "stateRoot",
  "transactionsRoot",
  "receiptsRoot",
  "logsBloom",
  "difficulty",
  "number",
  "gasLimit",
  "gasUsed",
  "timestamp",
  "extraData",
  "mixHash",
  "nonce",
  "baseFeePerGas", // London
  "withdrawalsRoot", // Shanghai
  "blobGasUsed", // Cancun
  "excessBlobGas",
  "parentBeaconBlockRoot",
  "requestsHash", // Prague
] as const;

/** Fields that are integers: RLP encodes them minimally (zero is the empty string). */
const QUANTITIES = new Set<string>([
  "difficulty",
  "number",
  "gasLimit",
  "gasUsed",
  "timestamp",
  "baseFeePerGas",
  "blobGasUsed",
  "excessBlobGas",
]);

function minimalQuantity(value: Hex): Hex {
  const digits = value.slice(2).replace(/^0+/, "");
  if (digits.length === 0) return "0x";
  return `0x${digits.length % 2 === 1 ? "0" : ""}${digits}`;
}

/**
 * RLP-encodes a block header from its JSON-RPC form (the fields present, in consensus order). Throws a
 * `ChainError` if the result does not hash to the block's hash (a chain whose header layout we do not know).
 */
export function encodeBlockHeader(block: Readonly<Record<string, unknown>>): Hex {
  const fields: Hex[] = [];
  for (const name of HEADER_FIELDS) {
    const value = block[name];
    if (value === undefined || value === null) break; // later forks' fields only follow earlier ones
    const hex = value as Hex;
    fields.push(QUANTITIES.has(name) ? minimalQuantity(hex) : hex);
  }
  const rlp = toRlp(fields);
  if (keccak256(rlp) !== block["hash"])
    throw new ChainError(
      "CHAIN_UNREACHABLE",
      `cannot rebuild the header of block ${String(block["number"])}`,
    );
  return rlp;
}

/** The RLP-encoded header of block `blockNumber`. */
export async function readBlockHeader(
  publicClient: PublicClient<Transport, Chain>,
  blockNumber: bigint,
): Promise<Hex> {
  const raw = await publicClient.request({
    method: "eth_getBlockByNumber",
    params: [`0x${blockNumber.toString(16)}`, false],
  });
  if (raw === null) throw new ChainError("CHAIN_UNREACHABLE", `block ${blockNumber} not found`);
  return encodeBlockHeader(raw as unknown as Record<string, unknown>);
}

/** A round's randomness record (`getDraws`). */
export async function readDraws(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
) {
  return publicClient.readContract({
    address: rounds,
    abi: trainingRoundsAbi,
    functionName: "getDraws",
    args: [roundId],
  });
}

/**
 * The block a round opened in: where its events start. A search for a round's events from block 0 asks the RPC
 * endpoint for the whole chain's logs of the contract on every tick, which public endpoints refuse past a block
 * range (often 10,000 blocks) and which grows with the chain.
 */
export async function roundOpenBlock(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
): Promise<bigint> {
  return (await readDraws(publicClient, rounds, roundId)).openBlock;
}

/** What the selection of an Open round past its commit deadline needs next. */
export type SelectionStep =
  | { readonly kind: "lock" } // not locked, its seed expired, or its window is over (the lock closes it)
  | { readonly kind: "wait"; readonly seedBlock: bigint }
  | { readonly kind: "select"; readonly args: readonly [bigint, readonly Address[], Hex] };

/** The next selection step of `roundId`, from the chain head and the round's draws record. */
export async function nextSelectionStep(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
  nowS: bigint,
): Promise<SelectionStep> {
  // Side by side: each read is a round trip, and the selection waits on this call once per tick.
  const [draws, head] = await Promise.all([
    readDraws(publicClient, rounds, roundId),
    publicClient.getBlockNumber({ cacheTime: 0 }),
  ]);
  const seedBlock = draws.seedBlock;
  if (seedBlock === 0n || head > seedBlock + BLOCKHASH_WINDOW || nowS > draws.selectionDeadline)
    return { kind: "lock" };
  if (head <= seedBlock) return { kind: "wait", seedBlock };
  const [locked, header] = await Promise.all([
    publicClient.getContractEvents({
      address: rounds,
      abi: trainingRoundsAbi,
      eventName: "SelectionLocked",
      args: { roundId },
      fromBlock: draws.lockBlock,
      toBlock: draws.lockBlock,
    }),
    readBlockHeader(publicClient, seedBlock),
  ]);
  const candidates = locked.at(-1)?.args.candidates;
  if (candidates === undefined)
    throw new ChainError("CHAIN_UNREACHABLE", `no SelectionLocked event for round ${roundId}`);
  return { kind: "select", args: [roundId, candidates, header] };
}

/** The `drawSamples` arguments of a posted round, once its sample seed block is mined; undefined if none due. */
export async function nextDrawArgs(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
): Promise<readonly [bigint, Hex] | undefined> {
  const [draws, head] = await Promise.all([
    readDraws(publicClient, rounds, roundId),
    publicClient.getBlockNumber({ cacheTime: 0 }),
  ]);
  if (draws.sampleSeedBlock === 0n || draws.samplesDrawn || head <= draws.sampleSeedBlock) return undefined;
  // Expired: the contract names a new seed block; the header is not read.
  if (head > draws.sampleSeedBlock + BLOCKHASH_WINDOW) return [roundId, "0x"];
  return [roundId, await readBlockHeader(publicClient, draws.sampleSeedBlock)];
}

export interface DrawDriver {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  readonly rounds: Address;
  /** Mines one block (tests: `evm_mine`); omit on a chain that makes blocks by itself. */
  readonly mine?: () => Promise<void>;
}

async function sendRounds(
  driver: DrawDriver,
  functionName: "lockSelection" | "selectAggregator" | "drawSamples",
  args: readonly unknown[],
): Promise<void> {
  const { request } = await driver.publicClient.simulateContract({
    account: driver.walletClient.account,
    address: driver.rounds,
    abi: trainingRoundsAbi,
    functionName,
    args,
  } as Parameters<typeof driver.publicClient.simulateContract>[0]);
  const hash = await driver.walletClient.writeContract(
    request as Parameters<typeof driver.walletClient.writeContract>[0],
  );
  const receipt = await driver.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new ChainError("TX_FAILED", `${functionName} reverted (${hash})`);
}

async function pastBlock(driver: DrawDriver, blockNumber: bigint): Promise<void> {
  while ((await driver.publicClient.getBlockNumber({ cacheTime: 0 })) <= blockNumber) {
    if (driver.mine === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
    else await driver.mine();
  }
}

/** Locks and selects the aggregator of an Open round past its commit deadline (fixtures, benches). */
export async function lockAndSelect(driver: DrawDriver, roundId: bigint): Promise<void> {
  await sendRounds(driver, "lockSelection", [roundId]);
  const draws = await readDraws(driver.publicClient, driver.rounds, roundId);
  if (draws.seedBlock === 0n) return; // the lock closed the round
  await pastBlock(driver, draws.seedBlock);
  const nowS = (await driver.publicClient.getBlock({ blockTag: "latest" })).timestamp;
  const step = await nextSelectionStep(driver.publicClient, driver.rounds, roundId, nowS);
  if (step.kind !== "select")
    throw new ChainError("TX_FAILED", `round ${roundId} cannot be selected (${step.kind})`);
  await sendRounds(driver, "selectAggregator", step.args);
}

/** Draws a posted round's sampled chunks once its sample seed block is mined (no-op if none are due). */
export async function drawSamplesWhenDue(driver: DrawDriver, roundId: bigint): Promise<void> {
  const draws = await readDraws(driver.publicClient, driver.rounds, roundId);
  if (draws.sampleSeedBlock === 0n || draws.samplesDrawn) return;
  await pastBlock(driver, draws.sampleSeedBlock);
  const args = await nextDrawArgs(driver.publicClient, driver.rounds, roundId);
  if (args !== undefined) await sendRounds(driver, "drawSamples", args);
}
