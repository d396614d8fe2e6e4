/**
 * Deploys the whole protocol (token, registry, verifier, rounds), wires the slasher, and returns the
 * deployment record (docs/protocol.md §1). Used by scripts/deploy.ts, `vain-node deploy`, the demo and tests.
 */
import { getAddress, keccak256, zeroAddress } from "viem";
import type { Abi, Account, Address, Chain, Hash, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  DEFAULT_ROUND_PARAMS,
  INITIAL_SUPPLY_WEI,
  MAX_SUPPLY_WEI,
  MIN_STAKE_WEI,
  REPORTER_REWARD_BPS,
  UNBONDING_DELAY_S,
} from "./constants.ts";
import {
  aggregationVerifierAbi,
  aggregationVerifierBytecode,
  groth16VerifierAbi,
  groth16VerifierBytecode,
  linkAggregationVerifierAbi,
  linkAggregationVerifierBytecode,
  linkGroth16VerifierAbi,
  linkGroth16VerifierBytecode,
  poseidonLinkStatementSegments,
  poseidonLinkTrainersSegments,
  poseidonStatementSegments,
  stakeRegistryAbi,
  stakeRegistryBytecode,
  testAggregationVerifierAbi,
  testAggregationVerifierBytecode,
  trainingRoundsAbi,
  trainingRoundsBytecode,
  vainTokenAbi,
  vainTokenBytecode,
} from "./contracts.ts";
import type { Groth16VerifierChoice } from "../proofs/deploy.ts";
import type { Deployment } from "./deployment.ts";

export type RoundParams = {
  maxTrainersPerRound: number;
  maxSamplesPerTrainer: bigint;
  aggregatorRewardBps: number;
  aggregatorSlashBps: number;
  trainerSlashBps: number;
  sampledChunks: number;
  challengeBond: bigint;
};

/** Which aggregation verifier the rounds contract uses. */
export type VerifierChoice =
  | { kind: "test" }
  /** The generated Groth16 verifier behind the `AggregationVerifier` adapter (node/proofs `groth16VerifierChoice`). */
  | Groth16VerifierChoice;

export interface DeployOptions {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  /** Receives the initial supply; defaults to the deployer. */
  readonly treasury?: Address;
  /** Owner of the parameters; defaults to the deployer. */
  readonly owner?: Address;
  readonly minStakeWei?: bigint;
  readonly unbondingDelayS?: bigint;
  readonly roundParams?: Partial<RoundParams>;
  readonly verifier?: VerifierChoice;
  readonly rpcUrl?: string;
}

interface Deployed {
  address: Address;
  codeHash: Hex;
  transactionHash: Hash;
}

async function deployOne(
  options: DeployOptions,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Deployed> {
  const { publicClient, walletClient } = options;
  const transactionHash = await walletClient.deployContract({ abi, bytecode, args });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: transactionHash });
  if (receipt.status !== "success" || receipt.contractAddress == null) {
    throw new Error(`deployment transaction ${transactionHash} failed`);
  }
  const code = await publicClient.getCode({ address: receipt.contractAddress });
  return { address: getAddress(receipt.contractAddress), codeHash: keccak256(code ?? "0x"), transactionHash };
}

/** A generated Poseidon hash's segment contracts, as scripts/export-abis.ts writes them. */
type PoseidonSegments = readonly { readonly abi: unknown; readonly bytecode: Hex }[];

/**
 * Deploys an on-chain Poseidon hash: segment contracts (each under the size limit), last to first, each
 * pointing at the next. Returns the first segment's address.
 */
async function deployPoseidon(options: DeployOptions, segments: PoseidonSegments): Promise<Address> {
  let next: Address | undefined;
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    const args = next === undefined ? [] : [next];
    next = (await deployOne(options, segment.abi as Abi, segment.bytecode, args)).address;
  }
  if (next === undefined) throw new Error("no Poseidon segments in the generated contracts");
  return next;
}

/**
 * The chained-proof verifier (LinkAggregationVerifier, K = 4) that lets proven rounds exceed the flat fan-in
 * of 8, or the zero address when the deployment does not chain proofs (proven rounds then stay at 8).
 */
async function deployLinkVerifier(
  options: DeployOptions,
  zeroSumsHash: bigint | undefined,
): Promise<Address> {
  const choice = options.verifier;
  if (zeroSumsHash === undefined || choice === undefined || choice.kind !== "groth16") return zeroAddress;
  const groth16 = await deployOne(options, linkGroth16VerifierAbi, linkGroth16VerifierBytecode, []);
  const link = await deployOne(options, linkAggregationVerifierAbi, linkAggregationVerifierBytecode, [
    groth16.address,
    await deployPoseidon(options, poseidonLinkTrainersSegments),
    await deployPoseidon(options, poseidonLinkStatementSegments),
    choice.paddingChunkHash,
    zeroSumsHash,
  ]);
  return link.address;
}

/** Deploys and wires the protocol; returns the deployment record to write with `writeDeployment`. */
export async function deployProtocol(options: DeployOptions): Promise<Deployment> {
  const { publicClient, walletClient } = options;
  const deployer = walletClient.account.address;
  const owner = options.owner ?? deployer;
  const startBlock = await publicClient.getBlockNumber();

  const token = await deployOne(options, vainTokenAbi, vainTokenBytecode, [
    options.treasury ?? deployer,
    INITIAL_SUPPLY_WEI,
    MAX_SUPPLY_WEI,
  ]);
  const registry = await deployOne(options, stakeRegistryAbi, stakeRegistryBytecode, [
    token.address,
    deployer,
    options.minStakeWei ?? MIN_STAKE_WEI,
    options.unbondingDelayS ?? UNBONDING_DELAY_S,
    REPORTER_REWARD_BPS,
  ]);
  const verifierChoice = options.verifier ?? { kind: "test" };
  const verifier =
    verifierChoice.kind === "test"
      ? await deployOne(options, testAggregationVerifierAbi, testAggregationVerifierBytecode, [])
      : await deployOne(options, aggregationVerifierAbi, aggregationVerifierBytecode, [
          (await deployOne(options, groth16VerifierAbi, groth16VerifierBytecode, [])).address,
          await deployPoseidon(options, poseidonStatementSegments),
          verifierChoice.paddingChunkHash,
          await deployLinkVerifier(options, verifierChoice.zeroSumsHash),
        ]);
  const params: RoundParams = { ...DEFAULT_ROUND_PARAMS, ...options.roundParams };
  const rounds = await deployOne(options, trainingRoundsAbi, trainingRoundsBytecode, [
    token.address,
    registry.address,
    verifier.address,
    deployer,
    params,
  ]);

  const setSlasher = await walletClient.writeContract({
    address: registry.address,
    abi: stakeRegistryAbi,
    functionName: "setSlasher",
    args: [rounds.address],
  });
  await publicClient.waitForTransactionReceipt({ hash: setSlasher });
  if (owner !== deployer) {
    for (const address of [registry.address, rounds.address]) {
      const hash = await walletClient.writeContract({
        address,
        abi: stakeRegistryAbi,
        functionName: "transferOwnership",
        args: [owner],
      });
      await publicClient.waitForTransactionReceipt({ hash });
    }
  }

  return {
    version: 1,
    chainId: await publicClient.getChainId(),
    rpcUrl: options.rpcUrl,
    deploymentBlock: Number(startBlock),
    deployedAt: new Date().toISOString(),
    deployer,
    verifierKind: verifierChoice.kind,
    contracts: {
      VainToken: token,
      StakeRegistry: registry,
      TrainingRounds: rounds,
      AggregationVerifier: verifier,
    },
    abis: "vain-node/chain/contracts.ts",
  };
}
