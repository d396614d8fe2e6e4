/** ABIs and bytecode of the vAIn contracts (generated from the Hardhat artifacts, committed). */
export {
  aggregationVerifierAbi,
  aggregationVerifierBytecode,
  groth16VerifierAbi,
  groth16VerifierBytecode,
  poseidonStatementSegments,
  stakeRegistryAbi,
  stakeRegistryBytecode,
  testAggregationVerifierAbi,
  testAggregationVerifierBytecode,
  trainingRoundsAbi,
  trainingRoundsBytecode,
  vainTokenAbi,
  vainTokenBytecode,
} from "./generated/contracts.ts";

/** Slash reason codes carried in `StakeRegistry.Slashed` (see docs/protocol.md §2). */
export const SLASH_REASON = {
  wrongAggregate: 1,
  missedDeadline: 2,
  aggregatorEquivocation: 3,
  trainerEquivocation: 4,
} as const;

/** `TrainingRounds` round states (see docs/protocol.md §3). */
export const ROUND_STATE = {
  none: 0,
  open: 1,
  aggregating: 2,
  challenging: 3,
  finalized: 4,
  failed: 5,
} as const;
