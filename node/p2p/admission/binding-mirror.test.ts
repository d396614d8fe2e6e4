/**
 * The binding mirror's bookkeeping against a scripted chain (the real-chain runs are in
 * node/p2p/mesh-identity.test.ts): binds and unbinds in order, a squatter's takeover, a reorg that replaces the
 * synced block, and lookups that share polls instead of causing one each.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Address, Chain, Hex, PublicClient, Transport } from "viem";

import { BindingMirror } from "./binding-mirror.ts";
import { peerIdBytes, StakeOracle } from "./stake-oracle.ts";

const A: Address = "0x00000000000000000000000000000000000000a1";
const B: Address = "0x00000000000000000000000000000000000000b2";
const P1: Hex = "0x0011";
const P2: Hex = "0x0022";

interface ScriptedLog {
  blockNumber: bigint;
  eventName: string;
  args: { operator: Address; peerId: Hex };
}

/** A chain of blocks with registry logs; `fork` replaces blocks from a height (new hashes). */
function scriptedChain() {
  const chain = {
    blocks: [{ hash: "0xh0" as Hex }],
    logs: [] as ScriptedLog[],
    calls: { head: 0, block: 0, logs: 0 },
    mine(logs: Omit<ScriptedLog, "blockNumber">[] = [], tag = "") {
      const blockNumber = BigInt(chain.blocks.length);
      chain.blocks.push({ hash: `0xh${blockNumber}${tag}` as Hex });
      for (const log of logs) chain.logs.push({ ...log, blockNumber });
    },
    fork(from: number) {
      chain.blocks.length = from;
      chain.logs = chain.logs.filter((l) => l.blockNumber < BigInt(from));
    },
  };
  const block = (n: number) => ({
    number: BigInt(n),
    hash: chain.blocks[n]!.hash,
    parentHash: n === 0 ? ("0x00" as Hex) : chain.blocks[n - 1]!.hash,
  });
  const client = {
    getBlock: async (args: { blockTag?: string; blockNumber?: bigint }) => {
      if (args.blockTag === "latest") {
        chain.calls.head += 1;
        return block(chain.blocks.length - 1);
      }
      chain.calls.block += 1;
      return block(Number(args.blockNumber));
    },
    getBlockNumber: async () => BigInt(chain.blocks.length - 1),
    getContractEvents: async (args: { fromBlock: bigint; toBlock: bigint }) => {
      chain.calls.logs += 1;
      return chain.logs.filter((l) => l.blockNumber >= args.fromBlock && l.blockNumber <= args.toBlock);
    },
  } as unknown as PublicClient<Transport, Chain>;
  return { chain, client };
}

const bound = (operator: Address, peerId: Hex) => ({ eventName: "PeerIdBound", args: { operator, peerId } });
const unbound = (operator: Address, peerId: Hex) => ({
  eventName: "PeerIdUnbound",
  args: { operator, peerId },
});

describe("BindingMirror", () => {
  it("follows binds, unbinds and takeovers, and rebuilds when the synced block is replaced", async () => {
    const { chain, client } = scriptedChain();
    const mirror = new BindingMirror({ client, registry: A, pollingIntervalMs: 60_000 });
    chain.mine([bound(A, P1)]);
    await mirror.poll();
    assert.equal(mirror.ownerOf(P1), A);
    assert.equal(mirror.resyncs, 1);
    // A squatter's ID taken over: Unbound(old owner) then Bound(new owner) in one block.
    chain.mine([unbound(A, P1), bound(B, P1)]);
    await mirror.poll();
    assert.equal(mirror.ownerOf(P1), B);
    chain.mine([bound(A, P2)]);
    await mirror.poll();
    assert.equal(mirror.resyncs, 1, "incremental while blocks chain on");
    // A reorg replaces the last two blocks: P2's binding is gone, B keeps P1.
    chain.fork(3);
    chain.mine([], "x");
    chain.mine([], "x");
    await mirror.poll();
    assert.equal(mirror.resyncs, 2);
    assert.equal(mirror.ownerOf(P2), undefined);
    assert.equal(mirror.ownerOf(P1), B);
    // A reset chain (head below the synced block).
    chain.fork(1);
    await mirror.poll();
    assert.equal(mirror.resyncs, 3);
    assert.equal(mirror.size, 0);
  });

  it("lookups share polls: 50 at once cost at most two, each sees blocks mined before it asked", async () => {
    const { chain, client } = scriptedChain();
    const mirror = new BindingMirror({ client, registry: A, pollingIntervalMs: 60_000 });
    await mirror.poll();
    const before = mirror.polls;
    chain.mine([bound(A, P1)]);
    await Promise.all(Array.from({ length: 50 }, () => mirror.pollAfterNow()));
    assert.ok(mirror.polls - before <= 2, `${mirror.polls - before} polls`);
    assert.equal(mirror.ownerOf(P1), A, "a binding mined before the lookup is seen");
    // Concurrent explicit polls never overlap (logs are applied once, in order).
    chain.mine([unbound(A, P1)]);
    await Promise.all([mirror.poll(), mirror.poll(), mirror.pollAfterNow()]);
    assert.equal(mirror.ownerOf(P1), undefined);
  });

  it("the stake oracle answers unbound peer IDs from the mirror, without a chain lookup", async () => {
    const { chain, client } = scriptedChain();
    let reads = 0;
    (client as unknown as { readContract: () => Promise<unknown> }).readContract = async () => {
      reads += 1;
      return { operator: A, activeStake: 10n, active: true };
    };
    const key = await generateKeyPair("Ed25519");
    const staked = peerIdFromPrivateKey(key).toString();
    chain.mine([bound(A, peerIdBytes(staked))]);
    const oracle = new StakeOracle({ client, registry: A, pollingIntervalMs: 60_000 });
    oracle.start();
    try {
      while (oracle.mirror?.ready !== true) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20; i++) {
        const stranger = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
        const standing = await oracle.standing(stranger);
        assert.equal(standing.active, false);
        assert.equal(standing.fromMirror, true);
      }
      assert.equal(reads, 0);
      assert.equal(oracle.mirrorAnswers, 20);
      assert.equal((await oracle.standing(staked)).active, true, "a bound peer is looked up on chain");
      assert.equal(reads, 1);
    } finally {
      oracle.stop();
    }
  });
});
