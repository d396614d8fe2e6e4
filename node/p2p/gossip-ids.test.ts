import assert from "node:assert/strict";
import { test } from "node:test";

import { RPC } from "@libp2p/gossipsub/message";

import { fastMessageId } from "./gossip-ids.ts";

const message: RPC.Message = {
  from: new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array<number>(32).fill(7)]),
  seqno: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]),
  topic: "/vain/1/bench/mesh",
  data: new TextEncoder().encode('{"v":1}'),
  signature: new Uint8Array(64).fill(9),
};

test("every copy of one message has one fast ID (copies decoded from the same wire bytes)", () => {
  const bytes = RPC.encode({ subscriptions: [], messages: [message] });
  const a = RPC.decode(bytes).messages[0]!;
  const b = RPC.decode(bytes).messages[0]!;
  assert.equal(fastMessageId(a), fastMessageId(b));
});

test("messages that differ in author, sequence number, topic or signature get different fast IDs", () => {
  const id = fastMessageId(message);
  const variants: RPC.Message[] = [
    { ...message, from: new Uint8Array([...message.from!.subarray(0, 37), 8]) },
    { ...message, seqno: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 2]) },
    { ...message, topic: "/vain/1/other" },
    { ...message, signature: new Uint8Array(64).fill(10) },
  ];
  const ids = new Set([id, ...variants.map((m) => fastMessageId(m))]);
  assert.equal(ids.size, 5);
});

test("a message missing the signed fields still gets an ID (gossipsub then rejects it by policy)", () => {
  const bare: RPC.Message = { topic: "/vain/1/bench/mesh", data: new Uint8Array([1]) };
  assert.equal(typeof fastMessageId(bare), "string");
});
