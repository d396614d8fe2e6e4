/**
 * Node-level attacks of `bench:attacks` (issue #18): real nodes (node/demo/network.ts: a `hardhat node`, the
 * real Groth16 verifier, libp2p over TCP, MNIST MLP training) with node/adversary/ behaviours switched on per
 * round. Two nodes: node 0 is honest (trainer, watcher, aggregator when chosen) and node 1 the attacker.
 *
 * - a cheating aggregator against ONE honest watcher, rotating over corrupting 1 random chunk, 50% of the
 *   chunks, and 1 chunk with its own poisoned update weighted in (paid by a failed round only from its own
 *   slash): detection rate = rounds that failed with the cheater slashed / cheating rounds;
 * - a trainer that commits and withholds its update.
 *
 * Profit is the attacker's change in worth minus what it would have earned playing honestly in the same
 * round (its aggregator share and its trainer share by sample count); a slashed cheater's stake is topped
 * back up from the treasury between rounds (the top-up is not counted as profit).
 */
import pino from "pino";
import type { Address } from "viem";
import { formatEther, parseEther } from "viem";

import type { AdversarialBehaviour } from "../../node/adversary/index.ts";
import { stake, transferTokens } from "../../node/chain/actions/index.ts";
import { stakeRegistryAbi, trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { freePort } from "../../node/demo/demo.ts";
import { sendBesideNode, setAggregators, startLocalVainNetwork } from "../../node/demo/network.ts";
import type { LocalVainNetwork } from "../../node/demo/network.ts";
import { runRound } from "../../node/demo/rounds.ts";
import { vain, worth } from "./attacks-harness.ts";
import type { AttackRow } from "./attacks-harness.ts";

type Switches = { -readonly [K in keyof AdversarialBehaviour]: AdversarialBehaviour[K] };

const REWARD = parseEther("100");
/** Aggregator share of the emission (DEFAULT_ROUND_PARAMS.aggregatorRewardBps = 10%). */
const AGGREGATOR_BPS = 1_000n;
/** The cheater's configurations, rotated round by round. */
/**
 * Void cheating rounds replayed per run, at most: on a loaded machine an honest node may sit out a round (its
 * proofs do not fit the answer window), leaving only the cheater's own, rejected update.
 */
const MAX_VOID_ROUNDS = 5;
const CHEATS = ["corrupt 1 chunk", "corrupt 50% of chunks", "poison own update + corrupt 1 chunk"] as const;
type Cheat = (typeof CHEATS)[number];

interface RoundScore {
  readonly profitWei: bigint;
  readonly honestLostWei: bigint;
  /** Native coin the attacker's node spent on gas in the round (its ordinary duties included). */
  readonly gasWei: bigint;
  readonly corrupted: boolean;
  readonly detected: boolean;
  /**
   * The cheater's corruption never reached the chain: it was not the round's aggregator, or it posted no weighted
   * aggregate (every update rejected or missing: the round fails unpaid and the model stays). Such a round is
   * not a detection trial (there is nothing to catch); its profit still counts.
   */
  readonly void: boolean;
}

export interface NodeAttackResult {
  readonly rows: AttackRow[];
  /** Trials (non-void cheating rounds) that failed with the cheater slashed, over all trials (-1 if none ran). */
  readonly detectionRate: number;
  readonly detectionRounds: number;
  /** Why the node-level part stopped early, if it did. */
  readonly aborted?: string;
}

const CHAIN_READS = (net: LocalVainNetwork) => ({
  token: net.contracts.token,
  registry: net.contracts.registry,
  rounds: net.contracts.rounds,
});

/** Restores `address`'s slashable stake to `target` from the treasury (after a slash). */
async function restoreStake(net: LocalVainNetwork, node: number, target: bigint): Promise<void> {
  const n = net.nodes[node]!;
  const staked = await net.publicClient.readContract({
    address: net.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "slashableStake",
    args: [n.account.address],
  });
  if (staked >= target) return;
  const ctx = (wallet: typeof net.treasury) => ({
    publicClient: net.publicClient,
    walletClient: wallet,
    contracts: net.contracts,
  });
  await transferTokens(ctx(net.treasury), { to: n.account.address, amountWei: target - staked });
  await sendBesideNode(() => stake(ctx(n.wallet), { amountWei: target - staked, usePermit: false }));
}

/** What `who` would have earned in `roundId` following the protocol: its shares by sample count. */
async function honestShare(net: LocalVainNetwork, roundId: bigint, who: Address, aggregates: boolean) {
  const r = await net.publicClient.readContract({
    address: net.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "getRound",
    args: [roundId],
  });
  const aggregatorShare = (r.emission * AGGREGATOR_BPS) / 10_000n;
  const total = r.sampleCounts.reduce((a, b) => a + b, 0n);
  const i = r.trainers.findIndex((t) => t.toLowerCase() === who.toLowerCase());
  const trainerShare =
    i < 0 || total === 0n ? 0n : ((r.emission - aggregatorShare) * r.sampleCounts[i]!) / total;
  return trainerShare + (aggregates ? aggregatorShare : 0n);
}

/** Plays one round with the attacker's switches and scores it. */
async function playRound(
  net: LocalVainNetwork,
  round: number,
  aggregator: number,
  attackerAggregates: boolean,
): Promise<RoundScore> {
  const attacker = net.nodes[1]!.account.address;
  const honest = net.nodes[0]!.account.address;
  const reads = CHAIN_READS(net);
  const before = await worth(net.publicClient, reads, [attacker]);
  const coinBefore = await net.publicClient.getBalance({ address: attacker });
  const honestBefore = await worth(net.publicClient, reads, [honest]);
  await setAggregators(net, [aggregator]);
  // An honest aggregator gets its whole answer time (a proof takes 5–20 s here); a cheater's unanswerable
  // challenge is let expire after a short wait.
  const report = await runRound(net, round, 240_000, attackerAggregates ? 5_000 : 120_000);
  const after = await worth(net.publicClient, reads, [attacker]);
  const gasWei = coinBefore - (await net.publicClient.getBalance({ address: attacker }));
  const honestAfter = await worth(net.publicClient, reads, [honest]);
  const share = await honestShare(net, report.roundId, attacker, attackerAggregates);
  const slashed = report.slashed.get(attacker) ?? 0n;
  return {
    profitWei: after.total - before.total - share,
    honestLostWei: honestBefore.stake > honestAfter.stake ? honestBefore.stake - honestAfter.stake : 0n,
    gasWei: gasWei > 0n ? gasWei : 0n,
    corrupted: attackerAggregates && report.state === "finalized",
    detected: report.state === "failed" && slashed > 0n,
    void:
      attackerAggregates &&
      (report.aggregator.toLowerCase() !== attacker.toLowerCase() || report.included === 0),
  };
}

/** Sets the cheater's switches for `cheat` (a fresh random chunk each round). */
function arm(switches: Switches, cheat: Cheat, chunks: number): void {
  switches.corruptChunk = cheat === "corrupt 50% of chunks" ? undefined : Math.floor(Math.random() * chunks);
  switches.corruptFraction = cheat === "corrupt 50% of chunks" ? 0.5 : undefined;
  switches.poison = cheat === "poison own update + corrupt 1 chunk" ? "sign-flip" : undefined;
}

function disarm(switches: Switches): void {
  for (const key of Object.keys(switches) as (keyof Switches)[]) delete switches[key];
}

/** Runs the node-level strategies: `detectionRounds` cheating rounds and `withholdRounds` withholding ones. */
export async function runNodeStrategies(
  detectionRounds: number,
  withholdRounds: number,
  onRound: (line: string) => void = () => undefined,
  /** Play an honest round first (JIT, Poseidon tables, proof artifacts) so the first cheating round is not the slow one. */
  warmUp = detectionRounds > 0,
  /** Wall-clock time (ms since the epoch) after which no further round starts (the bench's total cap). */
  until = Number.POSITIVE_INFINITY,
): Promise<NodeAttackResult> {
  const switches: Switches = {};
  const net = await startLocalVainNetwork({
    nodes: 2,
    port: await freePort(),
    rewardPerRound: REWARD,
    log: pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2)),
    behaviours: { 1: switches },
    spec: { train: { epochs: 1, batchSize: 32, learningRate: 0.1 } },
  });
  const rows: AttackRow[] = [];
  try {
    const target = await net.publicClient.readContract({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [net.nodes[1]!.account.address],
    });
    const chunks = Math.ceil(net.nodes[0]!.participant.parameterCount / 64);
    let round = 0;
    // Warm-up: an honest round (JIT, Poseidon tables, proof artifacts) that every node checks.
    if (warmUp) await runRound(net, ++round, 240_000, 60_000);
    const byCheat = new Map<Cheat, { scores: RoundScore[]; seconds: number }>();
    let aborted: string | undefined;
    // Trials: cheating rounds whose corrupted aggregate reached the chain. A void round (see RoundScore) is
    // replayed with the same cheat, up to MAX_VOID_ROUNDS in the whole run.
    let voids = 0;
    for (let i = 0; i < detectionRounds && aborted === undefined; i++) {
      if (Date.now() > until) {
        aborted = `the time cap was reached after ${i} cheating round(s)`;
        onRound(`  ${aborted}`);
        break;
      }
      const cheat = CHEATS[i % CHEATS.length]!;
      arm(switches, cheat, chunks);
      const started = performance.now();
      try {
        const score = await playRound(net, ++round, 1, true).finally(() => disarm(switches));
        const entry = byCheat.get(cheat) ?? { scores: [], seconds: 0 };
        entry.scores.push(score);
        entry.seconds += (performance.now() - started) / 1000;
        byCheat.set(cheat, entry);
        onRound(
          `  round ${round} (${cheat}): ${score.void ? "void (no weighted aggregate by the cheater)" : score.detected ? "caught" : "MISSED"}, attacker ${vain(score.profitWei)} VAIN`,
        );
        if (score.void && voids++ < MAX_VOID_ROUNDS) i--;
        // The honest watcher's bonds come back as credit; its node claims them itself (round/claims.ts).
        await restoreStake(net, 1, target);
      } catch (error) {
        // A round that never closed leaves the task's round active: the rounds after it cannot open.
        aborted = `round ${round} (${cheat}) did not close: ${error instanceof Error ? error.message : String(error)}`;
        onRound(`  ${aborted}`);
      }
    }
    for (const [cheat, { scores, seconds }] of byCheat)
      rows.push(row(`aggregator: ${cheat}`, scores, seconds));
    const withheld: RoundScore[] = [];
    const started = performance.now();
    for (let i = 0; i < withholdRounds && aborted === undefined && Date.now() <= until; i++) {
      switches.withholdUpdate = true;
      withheld.push(await playRound(net, ++round, 0, false).finally(() => disarm(switches)));
      onRound(`  round ${round} (withhold update): attacker ${vain(withheld.at(-1)!.profitWei)} VAIN`);
    }
    if (withheld.length > 0)
      rows.push(
        row(
          "trainer: withhold update",
          withheld,
          (performance.now() - started) / 1000,
          "real nodes; profit counts the trainer share it gave up (weight 0, paid nothing)",
        ),
      );
    const trials = [...byCheat.values()].flatMap((e) => e.scores).filter((s) => !s.void);
    return {
      rows,
      aborted,
      detectionRounds: trials.length,
      detectionRate: trials.length === 0 ? -1 : trials.filter((s) => s.detected).length / trials.length,
    };
  } finally {
    await net.stop();
  }
}

function row(attack: string, scores: readonly RoundScore[], seconds: number, note?: string): AttackRow {
  const sum = (f: (s: RoundScore) => bigint) => scores.reduce((a, s) => a + f(s), 0n);
  const trials = scores.filter((s) => !s.void);
  const caught = trials.filter((s) => s.detected).length;
  const voided = scores.length - trials.length;
  return {
    attack,
    attackerProfitVain: vain(sum((s) => s.profitWei)) / Math.max(1, scores.length),
    attackerGasEth: Number(formatEther(sum((s) => s.gasWei))) / Math.max(1, scores.length),
    honestStakeLostVain: vain(sum((s) => s.honestLostWei)),
    modelCorrupted: scores.some((s) => s.corrupted) ? 1 : 0,
    rounds: scores.length,
    seconds: Math.round(seconds * 10) / 10,
    note:
      note ??
      `real nodes; caught ${caught}/${trials.length} (failed, cheater slashed)` +
        (voided > 0 ? `; ${voided} void (no weighted aggregate by the cheater)` : ""),
  };
}
