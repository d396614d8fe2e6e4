/**
 * A node's own standing from public round outcomes (own-outcome.ts): one finalized round that accepted its update
 * lifts a fresh operator to the default opt-in's bar, whoever aggregated; a weight of 0, a failed round, a round
 * it did not train in and a round it aggregated (already credited) change nothing. Real reputation
 * book on disk; rounds of up to 16 trainers carry their weights in `getRound`, so no chain is needed here (the
 * process test node/runtime/unattended.test.ts checks it on a chain).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import type { Address, PublicClient } from "viem";

import { RoundState } from "../chain/contracts.ts";
import type { RoundView } from "../protocol/round/index.ts";
import { ReputationBook } from "../reputation/index.ts";
import { OPT_IN_MIN_REPUTATION } from "../scheduling/opt-in.ts";
import { foldOwnOutcome, ownOutcomeFolder } from "./own-outcome.ts";

const ME: Address = "0x00000000000000000000000000000000000000aA";
const OTHER: Address = "0x00000000000000000000000000000000000000bB";

function round(state: RoundState, trainers: readonly Address[], weights: readonly bigint[]): RoundView {
  return { state, trainers, weights, posted: true } as unknown as RoundView;
}

describe("own outcome of a finished round", () => {
  let dir: string;
  const books: ReputationBook[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-own-outcome-"));
  });
  after(async () => {
    // A book writes its last events after the test returns (one coalesced atomic write): removed under it, the
    // directory gained that write's temporary file and `rm` failed with ENOTEMPTY (fresh-clone CI, 2026-12-07).
    await Promise.all(books.map((b) => b.flush()));
    await rm(dir, { recursive: true, force: true });
  });

  async function book(name: string): Promise<ReputationBook> {
    const opened = await ReputationBook.open({ file: join(dir, `${name}.json`), noSync: true });
    books.push(opened);
    return opened;
  }

  function components(reputation: ReputationBook) {
    return {
      // Rounds of at most 16 trainers carry their weights; the client is not asked.
      publicClient: {} as PublicClient,
      rounds: OTHER,
      operator: ME,
      apply: (event: Parameters<ReputationBook["apply"]>[0]) => reputation.apply(event),
    };
  }

  it("lifts a fresh operator to the opt-in bar after one accepted update, whoever aggregated", async () => {
    const reputation = await book("accepted");
    const me = ME.toLowerCase();
    assert.ok(reputation.score(me) < OPT_IN_MIN_REPUTATION, "a newcomer cannot volunteer");
    const event = await foldOwnOutcome(
      components(reputation),
      1n,
      round(RoundState.Finalized, [OTHER, ME], [5n, 3n]),
    );
    assert.equal(event?.kind, "update-accepted");
    assert.ok(reputation.score(me) >= OPT_IN_MIN_REPUTATION, `score ${reputation.score(me)}`);
    assert.equal(
      reputation.score(OTHER.toLowerCase()),
      0.5,
      "another operator's entry is not fed by a posted weight",
    );
  });

  it("takes no debit from a weight of 0, and reads nothing from a failed round or one it did not train in", async () => {
    // A zeroing aggregator must not push honest trainers out of the candidates (and raise its own draw share).
    const reputation = await book("rejected");
    const me = ME.toLowerCase();
    const c = components(reputation);
    assert.equal(await foldOwnOutcome(c, 1n, round(RoundState.Finalized, [ME, OTHER], [0n, 4n])), undefined);
    assert.equal(await foldOwnOutcome(c, 2n, round(RoundState.Failed, [ME], [7n])), undefined);
    assert.equal(await foldOwnOutcome(c, 3n, round(RoundState.Finalized, [OTHER], [7n])), undefined);
    assert.equal(reputation.score(me), 0.5);
  });

  it("skips a round this node aggregated: its own decision credited every trainer already", async () => {
    const reputation = await book("aggregated");
    const fold = ownOutcomeFolder(components(reputation));
    await fold(1n, round(RoundState.Finalized, [ME], [2n]), "aggregator");
    assert.equal(reputation.score(ME.toLowerCase()), 0.5);
    await fold(2n, round(RoundState.Finalized, [ME], [2n]), "trainer");
    assert.ok(reputation.score(ME.toLowerCase()) >= OPT_IN_MIN_REPUTATION);
  });
});
