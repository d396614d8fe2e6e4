/** The repeat limiter inside a real pino logger: a once-a-second warning becomes one line a minute with a count. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";

import pino from "pino";

import { repeatLimiterHook } from "./log-limiter.ts";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("log repeat limiter", () => {
  it("logs a repeated warning once per window, then with the count of the ones it held back", () => {
    let now = 0;
    const out = capture();
    const log = pino(
      { hooks: { logMethod: repeatLimiterHook({ windowMs: 60_000, now: () => now }) } },
      out.stream,
    );
    const child = log.child({ component: "rounds" });
    for (let second = 0; second < 125; second++) {
      now = second * 1000;
      child.warn({ roundId: "3" }, "base model not available yet");
      log.info("an info line is never limited");
    }
    log.error("another message has its own window");
    const warnings = out.lines().filter((l) => l["msg"] === "base model not available yet");
    assert.equal(warnings.length, 3, "at 0 s, 60 s and 120 s");
    assert.equal(warnings[0]!["repeated"], undefined);
    assert.equal(warnings[1]!["repeated"], 59);
    assert.equal(warnings[2]!["repeated"], 59);
    assert.equal(warnings[1]!["roundId"], "3", "the call's own fields are kept");
    assert.equal(warnings[1]!["component"], "rounds", "children inherit the limiter");
    assert.equal(out.lines().filter((l) => l["msg"] === "an info line is never limited").length, 125);
    assert.equal(out.lines().filter((l) => l["msg"] === "another message has its own window").length, 1);
  });
});
