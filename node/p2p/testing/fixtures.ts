/**
 * Fixtures of the mesh tests: staked (or not) operators on a real local chain, and waiting on a condition
 * without assuming the machine's speed.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { LocalAccount } from "viem";

import { fundOperator, stakeAndBind } from "../../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../../scripts/support/local-network.ts";
import { peerIdBytes } from "../admission/stake-oracle.ts";
import { Mesh } from "../mesh.ts";
import type { MeshOptions } from "../mesh.ts";

export interface TestOperator {
  readonly key: PrivateKey;
  readonly peerId: string;
  readonly account: LocalAccount;
}

/** A fresh node key and operator account, staked with `stake` and bound to the key unless `bind` is false. */
export async function testOperator(
  net: LocalNetwork,
  stake: bigint | "none",
  bind = true,
): Promise<TestOperator> {
  const key = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(key).toString();
  const account = await fundOperator(net, stake === "none" ? 0n : stake);
  await stakeAndBind(net, account, stake === "none" ? 0n : stake, bind ? peerIdBytes(peerId) : undefined);
  return { key, peerId, account };
}

/** Polls `predicate` until it holds or `timeoutMs` passes (then throws naming `what`). */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a mesh node for `op` on `net`'s chain (no listen address unless `extra` gives one). */
export async function startTestMesh(
  net: LocalNetwork,
  op: TestOperator,
  extra: Partial<MeshOptions> = {},
): Promise<Mesh> {
  const mesh = new Mesh({
    privateKey: op.key,
    operator: op.account.address,
    chain: { client: net.publicClient, chainId: net.chainId, stakeRegistry: net.addresses.registry },
    listen: [],
    ...extra,
  });
  await mesh.start();
  return mesh;
}

/** How long stopping a test's meshes may take before the chain is stopped anyway. */
const MESH_STOP_BOUND_MS = 15_000;

/**
 * Stops `meshes`, bounded (one wedged libp2p stop must not hold the test file open), then `net`'s chain.
 */
export async function stopMeshesAndChain(
  meshes: readonly Mesh[],
  net: LocalNetwork | undefined,
): Promise<void> {
  await Promise.race([
    Promise.allSettled(meshes.map((mesh) => mesh.stop())),
    new Promise((resolve) => setTimeout(resolve, MESH_STOP_BOUND_MS).unref()),
  ]);
  await net?.stop();
}
