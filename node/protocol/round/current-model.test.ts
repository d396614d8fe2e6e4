/**
 * The rule a node's aggregator opt-in follows about the task's current model (current-model.ts, issue #25): past
 * the grace without it the node counts as unable at once, and as able again only after holding it for the regain
 * hold in a row. Time is the watch's own clock, stepped here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { CurrentModelWatch, MODEL_LACK_GRACE_MS, MODEL_REGAIN_HOLD_MS } from "./current-model.ts";

describe("CurrentModelWatch", () => {
  it("counts a node unable past the grace, and able again only after the regain hold", () => {
    let now = 1_000_000;
    const watch = new CurrentModelWatch(() => now);
    assert.equal(watch.note(true), false);
    assert.equal(watch.missingMs(), undefined, "holding it: able");
    // The round finalized and the node has not derived the new model yet: a tick or two is normal.
    assert.equal(watch.note(false), false);
    now += MODEL_LACK_GRACE_MS - 1;
    assert.equal(watch.note(false), false, "within the grace: still able");
    assert.equal(watch.missingMs(), undefined);
    now += 1;
    assert.equal(
      watch.note(false),
      true,
      "past the grace: the change is reported (the opt-in is withdrawn now)",
    );
    assert.equal(watch.missingMs(), MODEL_LACK_GRACE_MS);
    now += 30_000;
    assert.equal(watch.note(false), false, "no change while it still lacks it");
    assert.equal(watch.missingMs(), MODEL_LACK_GRACE_MS + 30_000);
    // It got the model back: not a candidate in the round it caught up in.
    now += 1_000;
    assert.equal(watch.note(true), false);
    assert.equal(watch.missingMs(), 0, "holds it again, within the regain hold");
    now += MODEL_REGAIN_HOLD_MS - 2_000;
    assert.equal(watch.note(true), false);
    assert.equal(watch.missingMs(), 0);
    now += 1_000;
    assert.equal(watch.note(true), true, "held for the regain hold in a row: able again, reported");
    assert.equal(watch.missingMs(), undefined);
  });

  it("a short miss inside the grace never withdraws, however often it happens", () => {
    let now = 0;
    const watch = new CurrentModelWatch(() => now);
    for (let round = 0; round < 20; round++) {
      assert.equal(watch.note(false), false);
      now += MODEL_LACK_GRACE_MS / 2;
      assert.equal(watch.note(true), false);
      now += 45_000;
    }
    assert.equal(watch.missingMs(), undefined);
  });
});
