/** Start-up findings about the operator: each trap gives its warning, a ready operator none. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseEther } from "viem";

import type { OperatorStatus } from "../chain/operator-status.ts";
import { resolveConfig } from "../config/config.ts";
import { configWarnings, operatorWarnings } from "./operator-checks.ts";

const PEER = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

const ready: OperatorStatus = {
  operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  chainId: 31337,
  blockNumber: 10n,
  blockTimestamp: 1n,
  ethBalanceWei: parseEther("1"),
  tokenBalanceWei: 0n,
  activeStakeWei: parseEther("200"),
  unbondingStakeWei: 0n,
  unbondingReleaseTime: 0n,
  unbondingRequests: [],
  withdrawableStakeWei: 0n,
  withdrawable: false,
  claimableWei: 0n,
  peerId: PEER,
  isActive: true,
  minStakeWei: parseEther("100"),
  unbondingDelayS: 86_400n,
  taskId: 1n,
  aggregatorOptedIn: false,
  network: { totalActiveStakeWei: 0n, aggregatorCandidates: 0, tasks: 0n, rounds: 0n, latestRound: null },
};

const codes = (status: Partial<OperatorStatus>): string[] =>
  operatorWarnings({ ...ready, ...status }, PEER).map((w) => w.code);

describe("operator checks at start", () => {
  it("finds nothing for a staked, bound operator with gas", () => {
    assert.deepEqual(codes({}), []);
  });

  it("warns about no stake, a stake below the minimum, no binding, another key's binding and no gas", () => {
    assert.deepEqual(codes({ activeStakeWei: 0n, isActive: false }), ["NO_STAKE"]);
    assert.deepEqual(codes({ activeStakeWei: parseEther("50"), isActive: false }), ["STAKE_BELOW_MINIMUM"]);
    assert.deepEqual(codes({ peerId: null }), ["UNBOUND"]);
    assert.deepEqual(codes({ peerId: "12D3KooWother" }), ["BOUND_TO_OTHER_KEY"]);
    assert.deepEqual(codes({ ethBalanceWei: 0n }), ["NO_GAS"]);
    const [below] = operatorWarnings({ ...ready, activeStakeWei: parseEther("50"), isActive: false }, PEER);
    assert.match(below!.message, /stakes 50\.0 VAIN, below the minimum 100\.0 VAIN: it is inactive/);
  });

  it("warns when the node trains the default, shared MNIST shard, not when it has its own", () => {
    assert.deepEqual(
      configWarnings(resolveConfig({})).map((w) => w.code),
      ["SHARED_SHARD"],
    );
    assert.deepEqual(
      configWarnings(resolveConfig({ file: { data: { kind: "mnist", shard: 1, shards: 3 } } })),
      [],
    );
  });
});
