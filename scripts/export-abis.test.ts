import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { GENERATED_FILE, renderContractsModule } from "./export-abis.ts";

// `npm test` compiles the contracts (Hardhat suite) before this suite runs, so the artifacts are current.
test("committed ABIs and bytecode match the compiled contracts", async () => {
  const rendered = await renderContractsModule();
  const committed = await readFile(GENERATED_FILE, "utf8");
  assert.ok(
    committed === rendered,
    "node/chain/generated/contracts.ts is stale: run `npx hardhat build && node scripts/export-abis.ts`",
  );
});
