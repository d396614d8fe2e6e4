/** Unit tests of the dashboard's pure modules (run by Node; the browser flows are in web/e2e). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { BaseError, ContractFunctionRevertedError, encodeErrorResult, parseEther } from "viem";

import { stakeRegistryAbi, vainTokenAbi } from "../../node/chain/generated/contracts.ts";
import { sampleStatus } from "../../test/support/status-api.ts";
import { applyEvent } from "./api.ts";
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
