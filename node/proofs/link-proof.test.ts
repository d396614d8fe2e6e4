/**
 * The link tree and link answer bytes (node/proofs/link-proof.ts) without proving: every cell's leaf opens at
 * `chunk * numLinks + link` with the path the answer carries, a link's input is the previous cell of the same
 * chunk, link 0 starts from the zero-sums hash, the last link's output divides to the flat aggregate, and the
 * link artifacts are refused when they do not match their manifest. Real proofs on chain:
 * test/zk/link-proof.test.ts.
 */
import assert from "node:assert/strict";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import { ArtifactIntegrityError } from "./artifacts.ts";
import { sumsHash } from "./chain-witness.ts";
import { commitEncoded, merklePath, merkleRootFromPath } from "./commitment.ts";
import { aggregateFixedPoint } from "./fixed-point.ts";
import {
  LINK_ARTIFACTS_DIR,
  LINK_SHAPE,
  buildLinkTree,
  buildRoundChains,
  checkLinkArtifacts,
  linkCount,
  linkLeaf,
  zeroSumsHash,
} from "./link-proof.ts";

const rng = new Rng(3);
const TRAINERS = 10;
const NUM_CHUNKS = 3;
const updates = Array.from({ length: TRAINERS }, () =>
  Uint16Array.from({ length: NUM_CHUNKS * LINK_SHAPE.chunkSize }, () => Math.floor(rng.next() * 65536)),
);
const weights = updates.map((_, i) => (i === 2 ? 0 : 1 + i));

describe("link tree", () => {
  it("opens every cell at chunk * numLinks + link, and chains each link to the previous cell", async () => {
    const chains = await buildRoundChains(5n, NUM_CHUNKS, updates, weights);
    const tree = buildLinkTree(chains.map((chain) => chain.map((l) => l.statement)));
    assert.equal(tree.numLinks, linkCount(TRAINERS));
    assert.equal(tree.numLinks, 3);
    const aggregate = aggregateFixedPoint(updates, weights).aggregate;
    const aggregateCommitment = await commitEncoded(aggregate);
    for (let chunk = 0; chunk < NUM_CHUNKS; chunk++) {
      const chain = chains[chunk]!;
      for (const link of chain) {
        const s = link.statement;
        const cell: number = chunk * tree.numLinks + s.link;
        const leaf = linkLeaf(s.sumOutHash, s.wOut);
        assert.equal(merkleRootFromPath(leaf, cell, merklePath(tree.levels, cell)), tree.root);
        if (s.link === 0) {
          assert.equal(s.sumInHash, await zeroSumsHash());
          assert.equal(s.wIn, 0n);
        } else {
          const previous = chain[s.link - 1]!.statement;
          assert.equal(s.sumInHash, previous.sumOutHash);
          assert.equal(s.wIn, previous.wOut);
        }
      }
      // The last link's aggregate chunk hash is the flat aggregate's chunk hash (what the chain opens).
      assert.equal(chain.at(-1)!.statement.aggregateChunkHash, aggregateCommitment.chunkHashes[chunk]);
    }
    assert.equal(
      await zeroSumsHash(),
      await sumsHash(new Array<bigint>(LINK_SHAPE.chunkSize).fill(0n), LINK_SHAPE),
    );
  });

  it("refuses chains of different lengths", () => {
    const link = { sumOutHash: 1n, wOut: 1n };
    assert.throws(() => buildLinkTree([[link, link], [link]]), RangeError);
    assert.throws(() => buildLinkTree([]), RangeError);
  });
});

describe("link artifacts", () => {
  it("accepts the committed artifacts and refuses a zkey that does not match the manifest", async () => {
    await checkLinkArtifacts();
    const dir = await mkdtemp(join(tmpdir(), "vain-link-artifacts-"));
    try {
      for (const name of ["manifest.json", "link.wasm"])
        await copyFile(`${LINK_ARTIFACTS_DIR}${name}`, join(dir, name));
      await writeFile(join(dir, "link.zkey"), "not the zkey");
      await assert.rejects(checkLinkArtifacts(`${dir}/`), ArtifactIntegrityError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
