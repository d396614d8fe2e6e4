/**
 * Contract-level attacks on slashing and slots (issue #18): an aggregator that reports its own missed
 * deadline through a sybil for the reporter share, an operator that equivocates as trainer and aggregator
 * and has its sybil report the cheaper (trainer) fault first, and minimum-stake sybils that fill a proven
 * round's slots at the opening to shut honest trainers out (and make it unprovable with a ninth).
 */
import type { Address } from "viem";
import { keccak256, parseEther, toHex } from "viem";

import { RoundState, trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { commitmentPair, signRoundMessage } from "../../node/protocol/round/signatures.ts";
import type { Scenario, Strategy } from "./attacks-harness.ts";
import type { AttackWorld, Operator } from "./attacks-world.ts";

const SAMPLES = 100n;
const commitmentOf = (roundId: bigint, who: Address, salt = "") =>
  keccak256(toHex(`${roundId}:${who}${salt}`));

/**
 * Self-report of a missed deadline: the attacker is the only candidate, is selected, never posts (its backup,
 * the honest trainer, takes the round over and closes it), and its own sybil reports the miss first (the reporter share is the only thing it could gain back). Each round uses
 * a fresh attacker (a slashed one is below the minimum). No rebate: it loses the aggregator rate less 10%.
 */
export const selfReportMissedDeadline: Strategy<AttackWorld> = {
  name: "self-report of missed deadline",
  async setup(world, rounds): Promise<Scenario> {
    const attackers = await world.operators(rounds, world.minStakeWei);
    const sybil = await world.operator(0n);
    const trainer = await world.operator(world.minStakeWei);
    const taskId = await world.task({ parameters: 64 });
    return {
      attackers: [...attackers.map((a) => a.address), sybil.address],
      honest: [trainer.address],
      async play() {
        const outcomes: string[] = [];
        for (const [i, attacker] of attackers.entries()) {
          await world.optIn(attacker);
          const roundId = await world.openRound(taskId);
          await world.send(trainer, "commitUpdate", [
            roundId,
            commitmentOf(roundId, trainer.address),
            SAMPLES,
          ]);
          await world.closeCommits(roundId);
          await world.select(roundId, attacker);
          await world.advancePast((await world.round(roundId)).aggregateDeadline);
          // Even rounds: its sybil reports (10% back); odd rounds: it reports itself (nothing back).
          const reporter = i % 2 === 0 ? sybil : attacker;
          const r = await world.attempt(reporter, "reportMissedAggregation", [roundId]);
          outcomes.push(r.ok ? (reporter === sybil ? "sybil reported" : "self-reported") : r.error);
          // The round's backup, the honest trainer, took it over. Nothing was delivered in this scripted round, so
          // it posts all-zero weights: the round fails at once, nobody else slashed or paid.
          if ((await world.round(roundId)).state === RoundState.Aggregating)
            await world.send(trainer, "postAggregate", [
              roundId,
              keccak256(toHex(`aggregate:${roundId}`)),
              keccak256(toHex(`data:${roundId}`)),
              [0n],
            ]);
          await world.optIn(attacker, false);
        }
        return { rounds, modelCorrupted: false, note: [...new Set(outcomes)].join(", ") };
      },
    };
  },
};

/**
 * Equivocation with a self-report: the attacker trains and aggregates the same round, signs two commitments
 * and two aggregates, and its sybil reports the trainer equivocation first (trainer rate 10%, reporter 10%
 * of it) hoping the aggregator fault (50%) is then refused `AlreadySlashed`. An honest watcher reports the
 * aggregate pair after it. Its own rewards of the round (trainer and aggregator shares) are its honest
 * earnings, so the profit is what the two slashes take net of the sybil's share.
 */
export const equivocationSelfReport: Strategy<AttackWorld> = {
  name: "equivocation self-report",
  async setup(world, rounds): Promise<Scenario> {
    const attackers = await world.operators(rounds, world.minStakeWei);
    const sybil = await world.operator(0n);
    const watcher = await world.operator(world.minStakeWei);
    const taskId = await world.task({ parameters: 64 });
    const domain = { chainId: world.net.chainId, verifyingContract: world.rounds };
    return {
      attackers: [...attackers.map((a) => a.address), sybil.address],
      honest: [watcher.address],
      async play() {
        let honestEarningsWei = 0n;
        const results: string[] = [];
        for (const attacker of attackers) {
          await world.optIn(attacker);
          const roundId = await world.openRound(taskId);
          const committed = commitmentOf(roundId, attacker.address);
          await world.send(attacker, "commitUpdate", [roundId, committed, SAMPLES]);
          await world.send(watcher, "commitUpdate", [
            roundId,
            commitmentOf(roundId, watcher.address),
            SAMPLES,
          ]);
          await world.closeCommits(roundId);
          await world.select(roundId, attacker);
          const r = await world.round(roundId);
          const aggregate = keccak256(toHex(`aggregate:${roundId}`));
          const model = keccak256(toHex(`model:${roundId}`));
          await world.send(attacker, "postAggregate", [roundId, aggregate, model, r.sampleCounts]);
          const sign = (kind: "Commitment" | "Aggregate", pair: readonly [`0x${string}`, `0x${string}`]) =>
            signRoundMessage(attacker.wallet, domain, kind, roundId, pair);
          const c1 = await sign("Commitment", commitmentPair(committed, SAMPLES));
          const c2 = await sign(
            "Commitment",
            commitmentPair(commitmentOf(roundId, attacker.address, "'"), SAMPLES),
          );
          const a1 = await sign("Aggregate", [aggregate, model]);
          const a2 = await sign("Aggregate", [keccak256(toHex(`other:${roundId}`)), model]);
          const trainerReport = await world.attempt(sybil, "reportEquivocation", [
            roundId,
            false,
            c1.pair,
            c1.signature,
            c2.pair,
            c2.signature,
          ]);
          const again = await world.attempt(watcher, "reportEquivocation", [
            roundId,
            false,
            c2.pair,
            c2.signature,
            c1.pair,
            c1.signature,
          ]);
          const aggregatorReport = await world.attempt(watcher, "reportEquivocation", [
            roundId,
            true,
            a1.pair,
            a1.signature,
            a2.pair,
            a2.signature,
          ]);
          results.push(
            `trainer ${trainerReport.ok ? "slashed" : trainerReport.error}, repeat ${again.ok ? "SLASHED AGAIN" : again.error}, aggregator ${aggregatorReport.ok ? "slashed" : aggregatorReport.error}`,
          );
          const before = await claimable(world, attacker.address);
          await world.finish(roundId);
          honestEarningsWei += (await claimable(world, attacker.address)) - before;
          await world.optIn(attacker, false);
        }
        return {
          rounds,
          modelCorrupted: false,
          honestEarningsWei,
          note: [...new Set(results)].join("; "),
        };
      },
    };
  },
};

function claimable(world: AttackWorld, account: Address): Promise<bigint> {
  return world.net.publicClient.readContract({
    address: world.rounds,
    abi: trainingRoundsAbi,
    functionName: "claimable",
    args: [account],
  });
}

/**
 * Sybil slot filling: 8 minimum-stake sybils (staked before the round) commit at the opening of a proven
 * task's round, the circuit's cap; then two honest trainers with more stake commit and a ninth sybil tries to
 * make the round unprovable. Slots go to stake at the block before the opening, so the honest trainers take
 * the two least-staked sybils' slots and the ninth is refused. The round then lapses unselected (unpaid,
 * nobody slashed): the sybils delivered nothing and earn nothing.
 */
export const sybilSlots: Strategy<AttackWorld> = {
  name: "sybil slot filling (+9th: unprovable)",
  async setup(world, rounds): Promise<Scenario> {
    const sybils = await world.operators(9, world.minStakeWei);
    const honest = await world.operators(2, parseEther("300"));
    const taskId = await world.task({ parameters: 64, proven: true });
    return {
      attackers: sybils.map((s) => s.address),
      honest: honest.map((h) => h.address),
      async play() {
        let admitted = 0;
        const ninth: string[] = [];
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          for (const s of sybils.slice(0, 8))
            await world.send(s, "commitUpdate", [roundId, commitmentOf(roundId, s.address), SAMPLES]);
          for (const h of honest) {
            const r = await world.attempt(h, "commitUpdate", [
              roundId,
              commitmentOf(roundId, h.address),
              SAMPLES,
            ]);
            if (r.ok) admitted++;
          }
          const extra = await world.attempt(sybils[8]!, "commitUpdate", [
            roundId,
            commitmentOf(roundId, sybils[8]!.address),
            SAMPLES,
          ]);
          ninth.push(extra.ok ? "ADMITTED" : extra.error);
          const r = await world.round(roundId);
          if (r.trainers.length > 8)
            throw new Error(`proven round ${roundId} holds ${r.trainers.length} trainers`);
          // Nobody selects: past the selection window the lock fails the round unpaid.
          const draws = await world.net.publicClient.readContract({
            address: world.rounds,
            abi: trainingRoundsAbi,
            functionName: "getDraws",
            args: [roundId],
          });
          await world.advancePast(draws.selectionDeadline);
          await world.send(world.net.deployer, "lockSelection", [roundId]);
        }
        return {
          rounds,
          modelCorrupted: false,
          note: `honest trainers admitted ${admitted}/${2 * rounds}; 9th sybil: ${[...new Set(ninth)].join(", ")}`,
        };
      },
    };
  },
};

export type { Operator };
