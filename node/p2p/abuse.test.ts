/**
 * The abuse ledger and the prefix/slot bookkeeping, without a network: points decay with their half-life, the
 * threshold evicts once, violations are counted per operator; prefixes group /24 and /56; the oldest slot yields.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ABUSE_HALF_LIFE_MS, ABUSE_POINTS, ABUSE_THRESHOLD_POINTS, AbuseLedger } from "./abuse.ts";
import { prefixOfIp, SlotTable } from "./admission/slots.ts";
import { KeyedRateLimiter, TokenBucket } from "./rate-limit.ts";

const OPERATOR = "0x00000000000000000000000000000000000000aa";

describe("abuse ledger", () => {
  it("evicts at the threshold, once, and counts the operator's violations and refusals", () => {
    let now = 0;
    const ledger = new AbuseLedger({ operatorOf: () => OPERATOR, now: () => now });
    const abusive: string[] = [];
    ledger.addEventListener("abusive", (event) => abusive.push(event.detail.peerId));
    const perMessage = ABUSE_POINTS["gossip-invalid"];
    for (let i = 0; i < ABUSE_THRESHOLD_POINTS / perMessage - 1; i++) ledger.report("p1", "gossip-invalid");
    assert.deepEqual(abusive, []);
    ledger.report("p1", "gossip-invalid");
    assert.deepEqual(abusive, ["p1"]);
    const record = ledger.byOperator().get(OPERATOR);
    assert.equal(record?.refusals, 1);
    assert.equal(record?.violations["gossip-invalid"], ABUSE_THRESHOLD_POINTS / perMessage);
    now += 1;
    assert.equal(ledger.points("p1"), 0, "a refused peer starts afresh when it may come back");
  });

  it("forgets an honest peer's rare slips: points halve every half-life", () => {
    let now = 0;
    const ledger = new AbuseLedger({ operatorOf: () => undefined, now: () => now });
    ledger.report("p2", "frame-malformed");
    now += ABUSE_HALF_LIFE_MS;
    assert.ok(Math.abs(ledger.points("p2") - ABUSE_POINTS["frame-malformed"] / 2) < 1e-9);
    // One slip a minute for an hour never reaches the threshold.
    for (let i = 0; i < 60; i++) {
      now += ABUSE_HALF_LIFE_MS;
      assert.ok(ledger.report("p2", "frame-malformed") < ABUSE_THRESHOLD_POINTS);
    }
  });
});

describe("prefixes, slots and rate limits", () => {
  it("groups IPv4 by /24 and IPv6 by /56, and rejects what is not an address", () => {
    assert.equal(prefixOfIp("10.1.2.3", "ip4"), prefixOfIp("10.1.2.250", "ip4"));
    assert.notEqual(prefixOfIp("10.1.2.3", "ip4"), prefixOfIp("10.1.3.3", "ip4"));
    assert.equal(prefixOfIp("2001:db8:1:2ff::1", "ip6"), prefixOfIp("2001:db8:1:200:ffff::9", "ip6"));
    assert.notEqual(prefixOfIp("2001:db8:1:2ff::1", "ip6"), prefixOfIp("2001:db8:1:300::1", "ip6"));
    assert.equal(prefixOfIp("::ffff:1.2.3.4", "ip6"), prefixOfIp("0:0:0:0:0:ffff:102:304", "ip6"));
    assert.equal(prefixOfIp("1:2:3", "ip6"), undefined);
    assert.equal(prefixOfIp("1.2.3", "ip4"), undefined);
  });

  it("the oldest holder of a prefix yields first", () => {
    const table = new SlotTable<string>();
    table.add("a", "x");
    table.add("b", "y");
    table.add("c", "x");
    assert.equal(table.oldest("x"), "a");
    assert.equal(table.oldest(), "a");
    table.delete("a");
    assert.equal(table.oldest("x"), "c");
    assert.equal(table.count("x"), 1);
    assert.equal(table.size, 2);
  });

  it("a key's budget is its own, and a flood of fresh keys cannot grow the limiter past its cap", () => {
    let now = 0;
    const limiter = new KeyedRateLimiter({ burst: 2, intervalMs: 1_000 }, { maxKeys: 3, now: () => now });
    assert.ok(limiter.take("a") && limiter.take("a"));
    assert.equal(limiter.take("a"), false);
    assert.ok(limiter.take("b"), "another key keeps its budget");
    limiter.take("c");
    assert.equal(limiter.take("d"), false, "no room for a fourth key while the others are not refilled");
    now += 2_000;
    assert.ok(limiter.take("d"));
    assert.ok(limiter.trackedKeys <= 3);
    const bucket = new TokenBucket({ burst: 2, intervalMs: 1_000 }, 0);
    assert.equal(bucket.take(0, 1), true);
    assert.equal(bucket.take(0, 1), false, "the reserved token stays for others");
    assert.equal(bucket.take(0), true);
  });
});
