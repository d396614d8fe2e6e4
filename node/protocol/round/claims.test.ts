/**
 * A watcher does not run dry (issue #18): after a round closes the node reclaims the bond of its own challenge
 * left pending in a failed round and claims everything credited to it (returned bonds, rewards), once per close.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address } from "viem";

import { ChallengeStatus, RoundState } from "../../chain/contracts.ts";
import { Claims } from "./claims.ts";
import type { RoundContext } from "./context.ts";
import { RoundWorkStore } from "./round-work.ts";

const ME: Address = "0x00000000000000000000000000000000000000a1";
const OTHER: Address = "0x00000000000000000000000000000000000000b2";

function world(claimable: bigint) {
  const sent: string[] = [];
  const challenges = new Map<string, { status: number; challenger: Address; bond: bigint }>([
    ["7:3", { status: ChallengeStatus.Pending, challenger: ME, bond: 10n }],
    ["7:4", { status: ChallengeStatus.Pending, challenger: OTHER, bond: 10n }],
    ["7:5", { status: ChallengeStatus.Answered, challenger: ME, bond: 10n }],
  ]);
  let owed = claimable;
  const ctx = {
    me: ME.toLowerCase(),
    log: { info: () => undefined, debug: () => undefined },
    chain: {
      readRound: async (roundId: bigint) => ({
        state: roundId === 7n ? RoundState.Failed : RoundState.Finalized,
        trainers: [ME, OTHER], // a round within the weights array: paid at its close, nothing to claim by opening
      }),
      sendIfValid: async (name: string, args: readonly bigint[]) => {
        sent.push(`${name}(${args.join(",")})`);
        if (name === "reclaimBond") owed += 10n;
        if (name === "claim") owed = 0n;
        return true;
      },
    },
    options: {
      contracts: { rounds: "0x0000000000000000000000000000000000000c00" },
      wallet: { account: { address: ME } },
      publicClient: {
        readContract: async ({ functionName, args }: { functionName: string; args: readonly bigint[] }) =>
          functionName === "claimable" ? owed : challenges.get(`${args[0]}:${args[1]}`),
      },
    },
  } as unknown as RoundContext;
  const work = new RoundWorkStore();
  for (const chunk of [3, 4, 5]) work.for(7n).challenged.add(chunk);
  work.for(8n).challenged.add(1);
  return { claims: new Claims(ctx, work), sent, owed: () => owed };
}

describe("Claims", () => {
  it("reclaims its own stranded bond in a failed round, then claims everything credited", async () => {
    const { claims, sent, owed } = world(5n);
    await claims.collect();
    assert.deepEqual(sent, ["reclaimBond(7,3)", "claim()"], "not another's bond, not an answered one");
    assert.equal(owed(), 0n);
  });

  it("collects once per closed round", async () => {
    const { claims, sent } = world(0n);
    await claims.collect();
    assert.deepEqual(sent, ["reclaimBond(7,3)", "claim()"], "the reclaimed bond is then claimed");
    sent.length = 0;
    const idle = world(0n);
    idle.claims.onTask({ roundCount: 3n, activeRound: 9n });
    await new Promise((resolve) => setImmediate(resolve));
    idle.claims.onTask({ roundCount: 3n, activeRound: 9n });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(idle.sent.filter((s) => s.startsWith("reclaimBond")).length, 1, "once for the same state");
  });
});
