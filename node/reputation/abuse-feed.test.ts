/**
 * Abuse and reputation tell the same story: the violations that get a peer refused (abuse.ts) leave its
 * operator below the mesh's prune rank and the scheduling floor, while other operators are untouched.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address } from "viem";

import { AbuseLedger } from "../p2p/abuse.ts";
import { PRUNE_BELOW_RANK } from "../p2p/mesh.ts";
import { feedAbuseToReputation } from "./abuse-feed.ts";
import { ReputationBook } from "./book.ts";
import { MIN_SCHEDULING_REPUTATION } from "./constants.ts";

const SPAMMER: Address = "0x00000000000000000000000000000000000000a1";
const HONEST: Address = "0x00000000000000000000000000000000000000b2";

describe("abuse feeds reputation", () => {
  it("a peer refused for abuse leaves its operator below the prune rank; a slip costs little", () => {
    const now = 1_000_000;
    const operators: Record<string, Address> = { spammer: SPAMMER, honest: HONEST };
    const ledger = new AbuseLedger({ operatorOf: (peerId) => operators[peerId], now: () => now });
    const book = ReputationBook.inMemory({ now: () => now });
    const stop = feedAbuseToReputation(ledger, book);
    let refused = false;
    ledger.addEventListener("abusive", () => (refused = true));
    for (let i = 0; i < 50 && !refused; i++) ledger.report("spammer", "gossip-invalid");
    assert.ok(refused, "50 invalid messages reach the threshold");
    ledger.report("honest", "stream-rate");
    const spammer = book.score(SPAMMER);
    assert.ok(spammer < PRUNE_BELOW_RANK && spammer < MIN_SCHEDULING_REPUTATION, `spammer at ${spammer}`);
    assert.ok(book.score(HONEST) > 0.48, `one slip: ${book.score(HONEST)}`);
    const counts = book.snapshot().find((e) => e.operator === SPAMMER)?.counts;
    assert.equal(counts?.["protocol-violation"], 50);
    assert.equal(counts?.["abuse-refusal"], 1);
    // A peer without a known operator charges nobody.
    ledger.report("stranger", "frame-malformed");
    assert.equal(book.snapshot().length, 2);
    stop();
    ledger.report("honest", "stream-rate");
    assert.equal(book.snapshot().find((e) => e.operator === HONEST)?.counts["protocol-violation"], 1);
  });
});
