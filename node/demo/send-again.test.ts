/**
 * send-again.ts: a transaction whose HTTP request failed is sent again only while its sender's nonce is unused;
 * a used nonce (the chain took it) is not sent twice, and any other failure is thrown at once.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import { sendAgain } from "./send-again.ts";

const FROM = "0x00000000000000000000000000000000000000aa" as const;
/** viem's shape of a dropped request: the transport error's cause says "fetch failed". */
const dropped = () => new Error("HTTP request failed.", { cause: new TypeError("fetch failed") });

/** A chain whose sender nonce is read from `nonces` in turn (the last one repeated). */
function chainWith(nonces: number[]) {
  let reads = 0;
  return { getTransactionCount: async () => nonces[Math.min(reads++, nonces.length - 1)]! };
}

describe("sendAgain", () => {
  it("sends again after a dropped request whose nonce is unused, and returns the second answer", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      let sends = 0;
      const result = sendAgain(chainWith([5]), FROM, async () => {
        sends += 1;
        if (sends === 1) throw dropped();
        return "receipt";
      });
      for (let i = 0; i < 10 && sends < 2; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.tick(2_000);
      }
      assert.equal(await result, "receipt");
      assert.equal(sends, 2);
    } finally {
      mock.timers.reset();
    }
  });

  it("does not send twice when the nonce was used: ifLanded's value, or the failure without one", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      let sends = 0;
      const send = async (): Promise<string> => {
        sends += 1;
        throw dropped();
      };
      const landed = sendAgain(chainWith([5, 6]), FROM, send, () => "landed");
      const thrown = sendAgain(chainWith([5, 6]), FROM, send).then(
        () => "resolved",
        (error: Error) => error.message,
      );
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.tick(2_000);
      }
      assert.equal(await landed, "landed");
      assert.equal(await thrown, "HTTP request failed.");
      assert.equal(sends, 2);
    } finally {
      mock.timers.reset();
    }
  });

  it("throws any other failure at once", async () => {
    let sends = 0;
    await assert.rejects(
      sendAgain(chainWith([5]), FROM, async () => {
        sends += 1;
        throw new Error("execution reverted: RoundFull");
      }),
      /RoundFull/,
    );
    assert.equal(sends, 1);
  });
});
