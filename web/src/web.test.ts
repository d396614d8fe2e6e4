/** Unit tests of the dashboard's pure modules (run by Node; the browser flows are in web/e2e). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { BaseError, ContractFunctionRevertedError, encodeErrorResult, parseEther } from "viem";

import { stakeRegistryAbi, vainTokenAbi } from "../../node/chain/generated/contracts.ts";
import { sampleStatus } from "../../test/support/status-api.ts";
import { applyEvent } from "./api.ts";
import { actionAvailability } from "./availability.ts";
import type { AvailabilityInput } from "./availability.ts";
import { decodeRevert, describeError, isUserRejection } from "./errors.ts";
import { formatBytes, formatDuration, formatVain } from "./format.ts";
import { base58btcDecode, peerIdFromChainBytes, peerIdToChainBytes, PeerIdFormatError } from "./peer-id.ts";
import { InputError, parseAmount } from "./staking.ts";

describe("dashboard: peer IDs", () => {
  it("encodes peer IDs exactly like libp2p's multihash bytes", async () => {
    for (let i = 0; i < 5; i++) {
      const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
      const expected = `0x${Buffer.from(peerId.toMultihash().bytes).toString("hex")}`;
      assert.equal(peerIdToChainBytes(peerId.toString()), expected);
      assert.equal(peerIdFromChainBytes(expected as `0x${string}`), peerId.toString());
    }
    assert.deepEqual([...base58btcDecode("11")], [0, 0]);
    assert.equal(peerIdToChainBytes("0x0a01"), "0x0a01");
  });

  it("rejects what is not a peer ID", () => {
    assert.throws(() => peerIdToChainBytes(""), PeerIdFormatError);
    assert.throws(() => peerIdToChainBytes("12D3KooW0OIl"), /not a base58 character/);
    assert.throws(() => peerIdToChainBytes(`0x${"ab".repeat(65)}`), /1 to 64 bytes/);
  });
});

describe("dashboard: formatting and input", () => {
  it("formats amounts, durations and bytes", () => {
    assert.equal(formatVain(parseEther("1234.56789")), "1,234.5678 VAIN");
    assert.equal(formatVain(0n), "0 VAIN");
    assert.equal(formatDuration(86_400_000), "1 d");
    assert.equal(formatDuration(86_399_000), "23 h 59 min 59 s");
    assert.equal(formatDuration(0), "0 s");
    assert.equal(formatBytes(458_000), "447.3 KiB");
  });

  it("parses amounts and refuses bad ones", () => {
    assert.equal(parseAmount(" 150.5 "), parseEther("150.5"));
    assert.throws(() => parseAmount("0"), InputError);
    assert.throws(() => parseAmount("1e3"), InputError);
    assert.throws(() => parseAmount("-1"), InputError);
  });
});

describe("dashboard: live events", () => {
  it("applies events to the snapshot", () => {
    const status = sampleStatus();
    const metrics = {
      roundId: "1",
      accuracy: 0.5,
      loss: 1,
      bytesSent: 1,
      bytesReceived: 2,
      reward: "0",
      slashes: 0,
      proven: true,
      finishedAt: 1,
    };
    const once = applyEvent(status, { type: "metrics", metrics });
    const replaced = applyEvent(once, { type: "metrics", metrics: { ...metrics, accuracy: 0.9 } });
    assert.equal(replaced.history.length, 1);
    assert.equal(replaced.history[0]?.accuracy, 0.9);
    assert.equal(applyEvent(status, { type: "round", round: null }).round, null);
    assert.equal(status.history.length, 0, "the input snapshot is not mutated");
  });

  it("applies readiness and alerts, so a paused node stops looking live", () => {
    const alert = { code: "CHAIN_RESET", message: "chain reset detected", sinceMs: 1 };
    const paused = applyEvent(sampleStatus(), { type: "health", ready: false, alerts: [alert] });
    assert.equal(paused.ready, false);
    assert.deepEqual(paused.alerts, [alert]);
  });

  it("upserts timeline entries in round order", () => {
    const entry = (roundId: string, phase: "committing" | "finalized" | "failed") => ({
      roundId,
      taskId: "1",
      phase,
      reward: "0",
      trained: false,
    });
    let status = sampleStatus();
    status = applyEvent(status, { type: "timeline", entry: entry("2", "committing") });
    status = applyEvent(status, { type: "timeline", entry: entry("1", "finalized") });
    status = applyEvent(status, { type: "timeline", entry: entry("2", "failed") });
    assert.deepEqual(
      status.timeline?.map((e) => `${e.roundId}:${e.phase}`),
      ["1:finalized", "2:failed"],
    );
  });
});

describe("dashboard: action availability", () => {
  const position = {
    balance: parseEther("10"),
    active: parseEther("100"),
    unbonding: 0n,
    releaseTime: 0n,
    claimable: 0n,
    peerId: "0x" as const,
    minStake: parseEther("100"),
    chainTimeMs: 0,
  };
  const ready: AvailabilityInput = {
    connected: true,
    chainDown: false,
    chainReset: false,
    busy: false,
    position,
    nowMs: 1_000_000,
    peerIdInput: "0x0a01",
  };

  it("disables every action with one reason until the wallet can act", () => {
    const cases: [Partial<AvailabilityInput>, RegExp][] = [
      [{ connected: false }, /Connect a wallet/],
      [{ wrongChain: "Hardhat (31337)" }, /Switch your wallet to Hardhat/],
      [{ chainDown: true }, /chain is not answering/],
      [{ chainReset: true, chainDown: true }, /chain was reset/],
      [{ busy: true }, /pending transaction/],
    ];
    for (const [patch, reason] of cases) {
      const availability = actionAvailability({ ...ready, ...patch });
      for (const value of Object.values(availability)) assert.match(value ?? "", reason);
    }
  });

  it("names why Claim, Bind, Unstake, Withdraw and Stake cannot act", () => {
    const a = actionAvailability(ready);
    assert.match(a.claim ?? "", /Nothing to claim yet/);
    assert.equal(a.bind, undefined, "a new peer ID can be bound");
    assert.equal(a.stake, undefined);
    assert.equal(a.unstake, undefined);
    assert.match(a.withdraw ?? "", /Nothing is unbonding/);
    const bound = actionAvailability({ ...ready, position: { ...position, peerId: "0x0a01" } });
    assert.match(bound.bind ?? "", /already bound/);
    const under = actionAvailability({ ...ready, position: { ...position, active: parseEther("5") } });
    assert.match(under.bind ?? "", /needs at least 100 VAIN staked \(you have 5 VAIN\)/);
    assert.match(actionAvailability({ ...ready, peerIdInput: "nope!" }).bind ?? "", /not a peer ID/);
    const poor = actionAvailability({
      ...ready,
      position: { ...position, balance: 0n, active: 0n, claimable: 1n },
    });
    assert.match(poor.stake ?? "", /no VAIN/);
    assert.match(poor.unstake ?? "", /Nothing is staked/);
    assert.equal(poor.claim, undefined);
    const unbonding = actionAvailability({
      ...ready,
      position: { ...position, unbonding: 1n, releaseTime: 1_060n },
    });
    assert.match(unbonding.withdraw ?? "", /withdrawable in 1 min/);
    assert.equal(
      actionAvailability({
        ...ready,
        nowMs: 1_060_000,
        position: { ...position, unbonding: 1n, releaseTime: 1_060n },
      }).withdraw,
      undefined,
    );
  });
});

describe("dashboard: errors", () => {
  it("decodes the registry's and the token's custom errors", () => {
    const registryRevert = new ContractFunctionRevertedError({
      abi: stakeRegistryAbi,
      functionName: "withdraw",
      data: encodeErrorResult({ abi: stakeRegistryAbi, errorName: "NothingToWithdraw", args: [0n] }),
    });
    assert.deepEqual(decodeRevert(new BaseError("wrapped", { cause: registryRevert })), {
      errorName: "NothingToWithdraw",
      args: [0n],
    });
    // ERC20InsufficientBalance bubbles up from the token: unknown to the registry ABI, decoded from raw data.
    const tokenRevert = new ContractFunctionRevertedError({
      abi: stakeRegistryAbi,
      functionName: "stake",
      data: encodeErrorResult({
        abi: vainTokenAbi,
        errorName: "ERC20InsufficientBalance",
        args: ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", parseEther("1"), parseEther("2")],
      }),
    });
    assert.match(describeError(tokenRevert), /Insufficient balance: you have 1 VAIN and need 2 VAIN/);
  });

  it("recognises a user's rejection", () => {
    const rejection = Object.assign(new Error("User rejected the request."), { code: 4001 });
    assert.equal(isUserRejection(rejection), true);
    assert.equal(describeError(rejection), "You rejected the request in your wallet.");
  });
});
