/**
 * Contract-level attacks on a proven task's challenge game (issue #18), with real updates, real commitments
 * and real Groth16 answers: a watcher flooding bonded challenges at an honest aggregator, an aggregator that
 * posts the honest aggregate with a wrong model hash, and an aggregator that corrupts a chunk and tries to
 * re-roll its commitment against the sampling. The scripted trainers' updates are small random vectors
 * (4 chunks) so each answer is one chunk proof.
 */
import type { Hex } from "viem";
import { keccak256, parseEther, toHex } from "viem";

import { trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { Rng } from "../../node/core/rng.ts";
import {
  CHUNK_SIZE,
  aggregateFixedPoint,
  commitEncoded,
  encodeChunkProofCalldata,
  encodeFixedPoint,
  proveChunk,
} from "../../node/proofs/index.ts";
import type { UpdateCommitment } from "../../node/proofs/index.ts";
import { modelRefOf } from "../../node/protocol/round/next-model.ts";
import type { Scenario, Strategy } from "./attacks-harness.ts";
import type { AttackWorld, Operator } from "./attacks-world.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

/** Chunks of the scripted model: a few, so a flood covers every unsampled one. */
const CHUNKS = 4;
const PARAMETERS = CHUNKS * CHUNK_SIZE;
const SAMPLES = 100;

/** One proven round's honest data: each trainer's encoded update, the weights and the true aggregate. */
interface RoundData {
  readonly updates: Uint16Array[];
  readonly weights: number[];
  readonly aggregate: Uint16Array;
  readonly commitment: UpdateCommitment;
}

/** Trainers commit small random updates; the commit window closes. */
async function commitUpdates(
  world: AttackWorld,
  roundId: bigint,
  trainers: readonly Operator[],
  seed: number,
): Promise<RoundData> {
  const rng = new Rng(seed);
  const updates: Uint16Array[] = [];
  for (const t of trainers) {
    const update = encodeFixedPoint(mapFloat32({ length: PARAMETERS }, () => 0.01 * rng.normal()));
    updates.push(update);
    await world.send(t, "commitUpdate", [roundId, (await commitEncoded(update)).root, BigInt(SAMPLES)]);
  }
  await world.closeCommits(roundId);
  const weights = trainers.map(() => SAMPLES);
  const { aggregate } = aggregateFixedPoint(updates, weights);
  return { updates, weights, aggregate, commitment: await commitEncoded(aggregate) };
}

/** The aggregator answers every pending challenge with a real proof over `data` (fails on a wrong chunk). */
async function answerAll(world: AttackWorld, roundId: bigint, aggregator: Operator, data: RoundData) {
  let answered = 0;
  for (const chunk of await world.pendingChunks(roundId)) {
    const proof = await proveChunk(roundId, chunk, data.updates, data.weights);
    const r = await world.attempt(aggregator, "answerChallenge", [
      roundId,
      BigInt(chunk),
      encodeChunkProofCalldata(proof, data.commitment),
    ]);
    if (r.ok) answered++;
  }
  return answered;
}

async function approveBonds(world: AttackWorld, who: Operator, amountWei: bigint): Promise<void> {
  const { token } = world.net.addresses;
  const r = await world.attemptOn(who, token, vainTokenAbi, "approve", [world.rounds, amountWei]);
  if (!r.ok) throw new Error(`approve reverted: ${r.error}`);
}

/**
 * Bond flood: after the sampled chunk is drawn, the attacker challenges every other chunk of an honest
 * aggregate with the round's bond (12.5 VAIN: emission / 8). Each challenge gets its own answer window, the honest aggregator
 * answers all with proofs, and every answered bond is forfeited to it.
 */
export const bondFlood: Strategy<AttackWorld> = {
  name: "bond-flood challenges",
  async setup(world, rounds): Promise<Scenario> {
    const aggregator = await world.operator(parseEther("300"));
    const trainers = await world.operators(2, world.minStakeWei);
    const attacker = await world.operator(world.minStakeWei, parseEther("100"));
    const taskId = await world.task({ parameters: PARAMETERS, proven: true, answerWindowS: 120n });
    return {
      attackers: [attacker.address],
      honest: [aggregator.address, ...trainers.map((t) => t.address)],
      async play() {
        await world.optIn(aggregator);
        await approveBonds(world, attacker, parseEther("100"));
        let flooded = 0;
        let answered = 0;
        const states: string[] = [];
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          const data = await commitUpdates(world, roundId, trainers, 1000 + i);
          await world.select(roundId);
          await world.send(aggregator, "postAggregate", [
            roundId,
            data.commitment.root,
            keccak256(toHex(`model:${roundId}`)),
            data.weights.map(BigInt),
          ]);
          await world.drawSamples(roundId);
          for (let chunk = 0; chunk < CHUNKS; chunk++) {
            const r = await world.attempt(attacker, "challenge", [roundId, BigInt(chunk)]);
            if (r.ok) flooded++;
          }
          answered += await answerAll(world, roundId, aggregator, data);
          const state = await world.finish(roundId);
          states.push(state);
          for (let chunk = 0; chunk < CHUNKS; chunk++)
            await world.attempt(world.net.deployer, "settleBond", [roundId, BigInt(chunk)]);
        }
        return {
          rounds,
          modelCorrupted: false,
          note: `${flooded} bonded challenges, ${answered} answers; rounds ${[...new Set(states)].join(", ")}`,
        };
      },
    };
  },
};

/**
 * Wrong model hash: the attacker aggregates honestly (so every sampled or challenged chunk proves) and posts
 * a hash of its own choosing where the model used to be named (now the aggregate's blob name). The chain
 * derives the model's ref from the base and the proven aggregate commitment (next-model.ts): the model is
 * corrupted if the task's ref is the attacker's or anything but the derived one. Its aggregator share is its
 * honest earning.
 */
export const wrongModelRef: Strategy<AttackWorld> = {
  name: "wrong modelRef with honest aggregate",
  async setup(world, rounds): Promise<Scenario> {
    const attacker = await world.operator(world.minStakeWei);
    const trainers = await world.operators(2, world.minStakeWei);
    const taskId = await world.task({ parameters: PARAMETERS, proven: true, answerWindowS: 120n });
    return {
      attackers: [attacker.address],
      honest: trainers.map((t) => t.address),
      async play() {
        await world.optIn(attacker);
        let corrupted = false;
        let honestEarningsWei = 0n;
        const states: string[] = [];
        for (let i = 0; i < rounds; i++) {
          const roundId = await world.openRound(taskId);
          const data = await commitUpdates(world, roundId, trainers, 2000 + i);
          await world.select(roundId);
          const evil: Hex = keccak256(toHex(`attacker's model ${roundId}`));
          await world.send(attacker, "postAggregate", [
            roundId,
            data.commitment.root,
            evil,
            data.weights.map(BigInt),
          ]);
          await world.drawSamples(roundId);
          await answerAll(world, roundId, attacker, data);
          const before = await claimable(world, attacker);
          const state = await world.finish(roundId);
          states.push(state);
          honestEarningsWei += (await claimable(world, attacker)) - before;
          const task = await world.task$(taskId);
          const round = await world.net.publicClient.readContract({
            address: world.rounds,
            abi: trainingRoundsAbi,
            functionName: "getRound",
            args: [roundId],
          });
          // A finalized round's model is the one its proven aggregate derives; a failed round keeps its base.
          const expected =
            state === "finalized"
              ? modelRefOf(round.baseModelRef, data.commitment.root, roundId)
              : round.baseModelRef;
          if (task.modelRef.toLowerCase() !== expected.toLowerCase()) corrupted = true;
        }
        return {
          rounds,
          modelCorrupted: corrupted,
          honestEarningsWei,
          note: `rounds ${[...new Set(states)].join(", ")}; task model ${corrupted ? "IS the attacker's" : "derived from the proven aggregate"}`,
        };
      },
    };
  },
};

function claimable(world: AttackWorld, who: Operator): Promise<bigint> {
  return world.net.publicClient.readContract({
    address: world.rounds,
    abi: trainingRoundsAbi,
    functionName: "claimable",
    args: [who.address],
  });
}

/**
 * Re-rolling the commitment against the sampling: the attacker corrupts one chunk, posts, and tries to post
 * a second commitment once it sees which chunk the draw would sample. The post is final (the second one
 * reverts) and the sample seed is a block mined after it. A scripted honest watcher that holds the updates
 * recomputes the aggregate and challenges exactly the corrupted chunk; the attacker answers what it can.
 */
export const rerollCommitment: Strategy<AttackWorld> = {
  name: "re-roll commitment vs sampling",
  async setup(world, rounds): Promise<Scenario> {
    const attackers = await world.operators(rounds, world.minStakeWei);
    const trainers = await world.operators(2, world.minStakeWei);
    const watcher = await world.operator(world.minStakeWei, parseEther("50"));
    const taskId = await world.task({ parameters: PARAMETERS, proven: true, answerWindowS: 120n });
    return {
      attackers: attackers.map((a) => a.address),
      honest: [...trainers.map((t) => t.address), watcher.address],
      async play() {
        await approveBonds(world, watcher, parseEther("50"));
        let corrupted = false;
        const seen: string[] = [];
        for (const [i, attacker] of attackers.entries()) {
          await world.optIn(attacker);
          const roundId = await world.openRound(taskId);
          const data = await commitUpdates(world, roundId, trainers, 3000 + i);
          await world.select(roundId);
          const bad = i % CHUNKS;
          const forged = Uint16Array.from(data.aggregate);
          for (let j = bad * CHUNK_SIZE; j < (bad + 1) * CHUNK_SIZE; j++) forged[j] = forged[j]! ^ 0x40;
          const posted = await commitEncoded(forged);
          await world.send(attacker, "postAggregate", [
            roundId,
            posted.root,
            keccak256(toHex(`model:${roundId}`)),
            data.weights.map(BigInt),
          ]);
          const again = await world.attempt(attacker, "postAggregate", [
            roundId,
            data.commitment.root,
            keccak256(toHex(`model:${roundId}'`)),
            data.weights.map(BigInt),
          ]);
          await world.drawSamples(roundId);
          // The watcher recomputes the aggregate from the updates and challenges the chunks that differ.
          const recomputed = await commitEncoded(data.aggregate);
          for (let c = 0; c < CHUNKS; c++) {
            if (recomputed.chunkHashes[c] === posted.chunkHashes[c]) continue;
            await world.attempt(watcher, "challenge", [roundId, BigInt(c)]);
          }
          // The attacker answers what it can prove (the honest chunks), with the forged commitment's paths.
          for (const chunk of await world.pendingChunks(roundId)) {
            if (chunk === bad) continue;
            const proof = await proveChunk(roundId, chunk, data.updates, data.weights);
            await world.attempt(attacker, "answerChallenge", [
              roundId,
              BigInt(chunk),
              encodeChunkProofCalldata(proof, posted),
            ]);
          }
          const state = await world.finish(roundId);
          seen.push(`second post ${again.ok ? "ACCEPTED" : again.error}, round ${state}`);
          if (state === "finalized") corrupted = true;
          await world.optIn(attacker, false);
        }
        return { rounds, modelCorrupted: corrupted, note: [...new Set(seen)].join("; ") };
      },
    };
  },
};
