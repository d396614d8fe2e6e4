/**
 * Contract-level attacks on who aggregates (issue #18): grinding the selection with stake top-ups between
 * the lock and the draw, selecting late to get the selected operator slashed, and stale candidates that
 * hold the list. Each is the attacker's sequence of real transactions against the deployed contracts; the
 * honest operators are scripted to follow the protocol (commit, post on time).
 */
import type { Address } from "viem";
import { keccak256, parseEther, toHex } from "viem";

import { RoundState, trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { nextSelectionStep } from "../../node/chain/draws.ts";
import type { Scenario, Strategy } from "./attacks-harness.ts";
import type { AttackWorld, Operator } from "./attacks-world.ts";

const SAMPLES = 100n;
/** One commitment per (round, trainer): any bytes32 serves an unproven task's scripted round. */
const commitmentOf = (roundId: bigint, who: Address) => keccak256(toHex(`${roundId}:${who}`));

/** Honest trainer commits, the commit window closes. */
async function commitAndClose(world: AttackWorld, roundId: bigint, trainers: readonly Operator[]) {
  for (const t of trainers)
    await world.send(t, "commitUpdate", [roundId, commitmentOf(roundId, t.address), SAMPLES]);
  await world.closeCommits(roundId);
}

/** The selected aggregator (whoever it is) posts the honest aggregate: every trainer weighted. */
async function postHonestly(world: AttackWorld, roundId: bigint, everyone: readonly Operator[]) {
  const r = await world.round(roundId);
  const aggregator = everyone.find((o) => o.address.toLowerCase() === r.aggregator.toLowerCase());
  if (aggregator === undefined) throw new Error(`aggregator ${r.aggregator} is not a scripted operator`);
  await world.send(aggregator, "postAggregate", [
    roundId,
    keccak256(toHex(`aggregate:${roundId}`)),
    keccak256(toHex(`model:${roundId}`)),
    r.sampleCounts,
  ]);
}

/**
 * Grinding: after the lock, the attacker (a candidate with 100 of 1,300 VAIN) simulates the draw, tops its
 * stake up and simulates again, up to `TOP_UPS` times, and sends the selection only when it wins. The draw
 * reads stakes at the lock block and a seed block mined after it, so no top-up moves it. Profit: rounds it
 * won beyond the ones the unground draw gave it, times the aggregator's share.
 */
export const grindSelection: Strategy<AttackWorld> = {
  name: "grind selection (stake top-ups)",
  async setup(world, rounds): Promise<Scenario> {
    const honest = await world.operators(4, parseEther("300"));
    // Enough spare VAIN for every top-up it may try.
    const attacker = await world.operator(world.minStakeWei, parseEther(String(TOP_UPS * rounds + 1)));
    const taskId = await world.task({ parameters: 64 });
    return {
      attackers: [attacker.address],
      honest: honest.map((o) => o.address),
      async play() {
        for (const o of [...honest, attacker]) await world.optIn(o);
        const { publicClient } = world.net;
        let stolen = 0;
        let fair = 0;
        let honestEarningsWei = 0n;
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          await commitAndClose(world, roundId, [honest[0]!]);
          await world.send(attacker, "lockSelection", [roundId]);
          const seedBlock = (
            await publicClient.readContract({
              address: world.rounds,
              abi: trainingRoundsAbi,
              functionName: "getDraws",
              args: [roundId],
            })
          ).seedBlock;
          while ((await publicClient.getBlockNumber({ cacheTime: 0 })) <= seedBlock) await world.mine();
          const step = await nextSelectionStep(publicClient, world.rounds, roundId, await world.now());
          if (step.kind !== "select") throw new Error(`round ${roundId}: cannot select (${step.kind})`);
          const draw = async () =>
            (
              await publicClient.simulateContract({
                account: attacker.account,
                address: world.rounds,
                abi: trainingRoundsAbi,
                functionName: "selectAggregator",
                args: [step.args[0], step.args[1], step.args[2]],
              })
            ).result;
          const unground = await draw();
          const mine = (a: Address) => a.toLowerCase() === attacker.address.toLowerCase();
          for (let g = 0; g < TOP_UPS && !mine(await draw()); g++)
            await world.topUp(attacker, parseEther("1"));
          await world.send(attacker, "selectAggregator", [step.args[0], step.args[1], step.args[2]]);
          const selected = (await world.round(roundId)).aggregator;
          if (mine(selected) && !mine(unground)) stolen++;
          if (mine(unground)) {
            fair++;
            honestEarningsWei += AGGREGATOR_SHARE_WEI;
          }
          await postHonestly(world, roundId, [...honest, attacker]);
          await world.finish(roundId);
        }
        await world.clearCandidates([...honest, attacker]);
        return {
          rounds,
          modelCorrupted: false,
          honestEarningsWei,
          note: `${TOP_UPS} top-ups a round: won ${stolen} round(s) beyond its ${fair} fair draw(s)`,
        };
      },
    };
  },
};

/** Top-ups the grinder tries per round. */
const TOP_UPS = 6;
/** 10% of the 100 VAIN emission (DEFAULT_ROUND_PARAMS.aggregatorRewardBps). */
const AGGREGATOR_SHARE_WEI = parseEther("10");

/**
 * Late selection: the attacker (not a candidate) runs the selection at the last second of the selection
 * window and at once reports the selected honest operator for a missed aggregation; in odd rounds it locks
 * only after the window closed. The selected operator always gets a full aggregate window from its
 * selection, and a selection past the window fails the round unpaid, slashing nobody.
 */
export const lateSelection: Strategy<AttackWorld> = {
  name: "late selection to get someone slashed",
  async setup(world, rounds): Promise<Scenario> {
    const aggregator = await world.operator(parseEther("300"));
    const trainer = await world.operator(world.minStakeWei);
    const attacker = await world.operator(world.minStakeWei);
    const taskId = await world.task({ parameters: 64 });
    return {
      attackers: [attacker.address],
      honest: [aggregator.address, trainer.address],
      async play() {
        await world.optIn(aggregator);
        const refusals: string[] = [];
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          await commitAndClose(world, roundId, [trainer]);
          const deadline = (
            await world.net.publicClient.readContract({
              address: world.rounds,
              abi: trainingRoundsAbi,
              functionName: "getDraws",
              args: [roundId],
            })
          ).selectionDeadline;
          if (i % 2 === 1) {
            // After the window: the lock fails the round unpaid.
            await world.advancePast(deadline);
            await world.send(attacker, "lockSelection", [roundId]);
          } else {
            await world.send(attacker, "lockSelection", [roundId]);
            await world.advancePast(deadline - 4n);
            await world.selectLocked(roundId, attacker);
          }
          const report = await world.attempt(attacker, "reportMissedAggregation", [roundId]);
          refusals.push(report.ok ? "SLASHED" : report.error);
          const r = await world.round(roundId);
          if (r.state === RoundState.Aggregating)
            await postHonestly(world, roundId, [aggregator, trainer, attacker]);
          await world.finish(roundId);
        }
        await world.clearCandidates([aggregator]);
        return {
          rounds,
          modelCorrupted: false,
          note: `reports refused: ${[...new Set(refusals)].join(", ")}`,
        };
      },
    };
  },
};

/**
 * Stale candidates: the attacker fills the candidate list (64) with minimum-stake sybils, then unstakes them
 * all. An honest candidate still opts in (a stale entry is evicted), every round still selects (stale
 * candidates weigh 0 at the lock) and leaves Open, and anyone prunes the rest. The sybils' stake only
 * unbonds: nothing is won or lost but gas.
 */
export const staleCandidates: Strategy<AttackWorld> = {
  name: "stale candidates hold the list",
  async setup(world, rounds): Promise<Scenario> {
    const sybils = await world.operators(64, world.minStakeWei);
    const aggregator = await world.operator(parseEther("300"));
    const trainer = await world.operator(world.minStakeWei);
    const taskId = await world.task({ parameters: 64 });
    return {
      attackers: sybils.map((s) => s.address),
      honest: [aggregator.address, trainer.address],
      async play() {
        for (const s of sybils) await world.optIn(s);
        for (const s of sybils) await world.requestUnstake(s, world.minStakeWei);
        const optIn = await world.attempt(aggregator, "setAggregatorOptIn", [taskId, true]);
        let selected = 0;
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          await commitAndClose(world, roundId, [trainer]);
          const who = await world.select(roundId);
          if (who.toLowerCase() === aggregator.address.toLowerCase()) selected++;
          await postHonestly(world, roundId, [aggregator, trainer]);
          await world.finish(roundId);
        }
        const left = await world.net.publicClient.readContract({
          address: world.rounds,
          abi: trainingRoundsAbi,
          functionName: "aggregatorCandidates",
          args: [taskId],
        });
        await world.send(world.net.deployer, "pruneCandidates", [taskId, left]);
        await world.clearCandidates([aggregator]);
        return {
          rounds,
          modelCorrupted: false,
          note: `honest opt-in ${optIn.ok ? "accepted" : optIn.error}; honest selected ${selected}/${rounds}; ${left.length - 1} stale pruned`,
        };
      },
    };
  },
};
