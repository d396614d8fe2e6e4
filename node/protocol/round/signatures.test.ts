import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createWalletClient, http } from "viem";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

import { SignedLedger, commitmentPair, signRoundMessage, signerOf } from "./signatures.ts";

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
const wallet = () =>
  createWalletClient({
    account: privateKeyToAccount(generatePrivateKey()),
    chain: hardhat,
    // Local accounts sign without the transport; nothing is sent.
    transport: http("http://127.0.0.1:1"),
  });
const root = (byte: string): Hex => `0x${byte.repeat(64)}`;

describe("round signatures (EIP-712 Commitment and Aggregate)", () => {
  it("recovers the signer, and not for another domain or a changed value", async () => {
    const signer = wallet();
    const signed = await signRoundMessage(signer, domain, "Commitment", 7n, commitmentPair(root("a"), 120n));
    assert.equal(await signerOf(domain, signed), signer.account.address);
    const otherChain = await signerOf({ ...domain, chainId: 1 }, signed);
    assert.notEqual(otherChain, signer.account.address);
    const changed = await signerOf(domain, { ...signed, pair: commitmentPair(root("a"), 121n) });
    assert.notEqual(changed, signer.account.address);
    assert.equal(await signerOf(domain, { ...signed, signature: "0x1234" }), undefined);
  });

  it("the ledger keeps one conflicting pair per signer and kind, ignores repeats and other signers", async () => {
    const signer = wallet();
    const other = wallet();
    const ledger = new SignedLedger();
    const a = await signRoundMessage(signer, domain, "Aggregate", 3n, [root("1"), root("2")]);
    const again = await signRoundMessage(signer, domain, "Aggregate", 3n, [root("1"), root("2")]);
    const b = await signRoundMessage(signer, domain, "Aggregate", 3n, [root("1"), root("3")]);
    const c = await signRoundMessage(signer, domain, "Aggregate", 3n, [root("4"), root("3")]);
    const commitment = await signRoundMessage(
      signer,
      domain,
      "Commitment",
      3n,
      commitmentPair(root("1"), 2n),
    );
    const theirs = await signRoundMessage(other, domain, "Aggregate", 3n, [root("9"), root("9")]);
    assert.equal(ledger.record(signer.account.address, a), undefined);
    assert.equal(
      ledger.record(signer.account.address, again),
      undefined,
      "the same value twice is no conflict",
    );
    assert.equal(ledger.record(other.account.address, theirs), undefined);
    assert.equal(ledger.record(signer.account.address, commitment), undefined, "another kind is no conflict");
    const found = ledger.record(signer.account.address, b);
    assert.deepEqual(found?.a, a);
    assert.deepEqual(found?.b, b);
    assert.equal(ledger.record(signer.account.address, c), undefined, "one pair is enough evidence");
    assert.deepEqual(
      ledger.equivocations().map((e) => [e.signer, e.kind]),
      [[signer.account.address.toLowerCase(), "Aggregate"]],
    );
  });
});
