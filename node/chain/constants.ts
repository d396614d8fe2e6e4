/**
 * Defaults of node/chain: the protocol parameters used by `deployProtocol` (scripts/deploy.ts, `vain-node
 * deploy`, the demo; deployment arguments, changeable later by the owner within the contracts' hard bounds),
 * then the actions' defaults (actions/).
 */
import { parseEther } from "viem";

/** 1e9 VAIN minted to the treasury at deployment: enough to fund demos and test networks. */
export const INITIAL_SUPPLY_WEI = parseEther("1000000000");
/** Hard cap: twice the initial supply, so a future emission schedule has room but a bound. */
export const MAX_SUPPLY_WEI = parseEther("2000000000");
/** Minimum active stake of a node: small enough for test networks, large enough to make Sybils cost. */
export const MIN_STAKE_WEI = parseEther("100");
/** Unbonding delay: the registry's lower bound (1 day), which exceeds any round (at most 12 h). */
export const UNBONDING_DELAY_S = 24n * 60n * 60n;
/** Reporter's share of a slash: 10%, enough to pay for watching, small enough not to invite griefing. */
export const REPORTER_REWARD_BPS = 1_000n;

/**
 * Most trainers whose accepted weights a round posts as an array (TrainingRounds `MAX_WEIGHTS_ARRAY`): 16, so
 * closing pays them in one bounded loop. A larger round (unproven: proofs read the array) posts a weight sum
 * tree root and its trainers claim (node/protocol/round/weight-claims.ts).
 */
export const MAX_WEIGHTS_ARRAY = 16;

/** Default `TrainingRounds.Params`. */
export const DEFAULT_ROUND_PARAMS = {
  /** The zk circuit's fan-in. */
  maxTrainersPerRound: 16,
  /** The zk circuit packs weights in 16 bits, so a trainer counts at most 65,535 samples per round. */
  maxSamplesPerTrainer: 65_535n,
  /** 10% of a round's emission to its aggregator. */
  aggregatorRewardBps: 1_000,
  /** A provable aggregator fault costs half of its slashable stake. */
  aggregatorSlashBps: 5_000,
  /** Trainer equivocation costs 10%: it is provable but does less damage than a wrong aggregate. */
  trainerSlashBps: 1_000,
  /** One chunk proven automatically per round, more on challenge (the contract requires at least one). */
  sampledChunks: 1,
  /** 10 VAIN per bonded challenge. */
  challengeBond: parseEther("10"),
} as const;

/** How long a permit signature stays valid: long enough for a slow chain or wallet prompt, short enough not to linger. */
export const PERMIT_VALIDITY_S = 3_600n;

/**
 * Default windows of a new task, in chain seconds: a local round takes about 40 s on a quiet machine
 * (commit 15 + select and post ~2 + a sampled chunk's proof ~5 + its 15 s dispute window; the challenge
 * deadline, 35 s after opening, comes first). Commit: one local epoch of the default model with room to spare.
 * Aggregate: 30 s, twice the aggregator's 15 s deadline margin (AGGREGATE_MARGIN_SECONDS). The window bounds only
 * a miss (an aggregator posts as soon as the updates are in), and a drawn aggregator must notice its selection by
 * polling: in a soak at load 7-15 every node noticed 14-23 s late and three honest aggregators missed 15 s windows
 * and were slashed (2026-12-06). Nodes whose ticks could not post in time sit out (reaction-budget.ts).
 * Answer: each challenge gets its own window (deadlines are spaced). A Groth16 chunk proof took 3–6 s here
 * quiet, 20 s on a saturated 2-core machine and 30 s at load 28 (bench:zk, soak, 2026-12), and a node takes a
 * duty only while its slowest recent proof times PROVING_HEADROOM plus the transaction fits (proving-budget.ts).
 * 120 s, not 60: an aggregator whose recent proofs took 10-17 s took 62 s for the next one when the machine's
 * load jumped to 15, missed a 60 s window and was slashed 50 VAIN for an unanswered challenge (60-minute soak,
 * 2026-12-06): a proof's time on a shared machine swings 4x within a minute, after the budget was checked.
 * 120 s holds a 77 s proof by the budget, and more in fact. The answer window does not lengthen a round: the
 * aggregator answers when its proof is done, and only a missed answer waits the window out.
 * Dispute: the answered statement stays disputable this long; a watcher's check is a hash and a Merkle opening
 * plus one transaction, a few blocks of a local chain even at load. Public chains with 12 s blocks need minutes.
 */
export const DEFAULT_COMMIT_WINDOW_S = 15n;
export const DEFAULT_AGGREGATE_WINDOW_S = 30n;
export const DEFAULT_CHALLENGE_WINDOW_S = 5n;
export const DEFAULT_ANSWER_WINDOW_S = 120n;
export const DEFAULT_DISPUTE_WINDOW_S = 15n;
/** Rounds may follow each other immediately by default; set an interval to pace emission. */
export const DEFAULT_ROUND_INTERVAL_S = 0n;
/** The contract's MIN_WINDOW. */
export const MIN_WINDOW_S = 5n;
/**
 * The contract's MAX_ROUND_DURATION (RoundsStorage): a task's windows with every step at its last second (commit +
 * 4 aggregate + challenge + 16 answer + dispute) must fit in it, seconds. A hierarchy's upper levels hit it first:
 * each commit window holds a whole round of the level below.
 */
export const MAX_ROUND_DURATION_S = 43_200n;
/** The contract's MAX_TASK_LEVELS: most levels of linked group tasks (three levels of 16 hold 4,096 trainers). */
export const MAX_TASK_LEVELS = 3;
/**
 * The contract's GROUP_EPOCH, seconds: every operator's group in every hierarchy is drawn anew each epoch from the
 * epoch's seed (docs/protocol.md §7), so a node may change group task once a day. Epoch e (from 1) covers chain
 * time [(e - 1) × GROUP_EPOCH_S, e × GROUP_EPOCH_S).
 */
export const GROUP_EPOCH_S = 86_400n;
/** The contract's SEED_BLOCK_DELAY: an operator's stake counts for a group seed drawn this many blocks later. */
export const SEED_BLOCK_DELAY = 2n;
/** The rule a task uses by default: the node's guarded mean (a weighted mean of accepted updates), which the circuit proves. */
export const DEFAULT_TASK_RULE = "guarded-mean";

/**
 * How long a spawned `hardhat node` may take to answer JSON-RPC while its process is alive (an exit is reported at
 * once): ~5 s normally, 25 s at load 10, over 60 s at nice 19 beside a load of 26 on 2 cores (a bench run gave up).
 * Only a bound for a wedged process, so generous.
 */
export const HARDHAT_STARTUP_TIMEOUT_MS = 180_000;

/**
 * Interval mining on local chains (ms), set by `vain-node deploy` (its `--block-interval`) and by the test chains:
 * a plain `hardhat node` mines only when a transaction arrives, so without it the chain's clock stands still and
 * deadlines never pass. Half a second, not one: every round draws twice from a seed block two blocks after its
 * lock (SEED_BLOCK_DELAY: the aggregator's selection, then the samples), and waiting for three blocks took 2.5-3 s
 * of each draw at one block a second, about 6 s of a 25-30 s local round (soak timelines, 2026-12-06). The
 * chain's clock stays on the wall clock (same-second blocks, hardhat.config.ts); 256 blocks (the EVM's blockhash
 * window, which bounds how late a draw may be) are still over two minutes.
 */
export const LOCAL_BLOCK_INTERVAL_MS = 500;

/**
 * How long a node keeps retrying one round transaction through an RPC outage (ms): longer than the 30 s outage
 * the soak injects (issue #25), shorter than any phase a retry could still serve. Each retry simulates again, so a
 * call whose phase deadline passed meanwhile ends with the contract's revert, not with a late transaction.
 */
export const CHAIN_WRITE_RETRY_BUDGET_MS = 45_000;
/**
 * Gas a node's round transaction gets above its estimate, in percent. An estimate holds for the state it was made
 * on, and other nodes' transactions mined before it move the cost: a commit's sample count is packed four to a
 * storage slot, so a commit that lands as every fourth trainer opens a slot and costs 17.1k more than one
 * estimated a commit earlier (test/contracts/gas-margin.test.ts). Without a margin 40 of 64 commits of
 * bench:round --scale 64 ran out of gas on their first try (2026-12-06); 25 % of a 141k commit is 35k.
 */
export const GAS_MARGIN_PERCENT = 25n;

/** `estimate` with GAS_MARGIN_PERCENT on top (unused gas is refunded). */
export function withGasMargin(estimate: bigint): bigint {
  return estimate + (estimate * GAS_MARGIN_PERCENT) / 100n;
}
/** First pause between retries of a write through an outage (ms); doubles up to CHAIN_WRITE_RETRY_MAX_DELAY_MS. */
export const CHAIN_WRITE_RETRY_DELAY_MS = 500;
/** Longest pause between two retries (ms): a restored endpoint is used within this. */
export const CHAIN_WRITE_RETRY_MAX_DELAY_MS = 4_000;
