/** Trainer-side differential privacy: the sampled Gaussian mechanism's RDP and its accountant. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RdpAccountant, sampledGaussianRdp } from "./differential-privacy.ts";

describe("differential privacy accountant", () => {
  it("matches the Gaussian mechanism's closed form when every client participates", () => {
    assert.ok(Math.abs(sampledGaussianRdp(1, 2, 8) - 8 / 8) < 1e-12);
  });

  it("matches the published Opacus figure: N=60000, B=256, sigma=1.12, 60 epochs, delta=1e-5 → epsilon 2.95", () => {
    const accountant = new RdpAccountant([10, 20, 100]);
    accountant.compose(256 / 60_000, 1.12, Math.ceil((60 * 60_000) / 256));
    const { epsilon } = accountant.epsilon(1e-5);
    assert.ok(Math.abs(epsilon - 2.95) < 0.05, `epsilon ${epsilon}`);
  });
});
