/** Binds a libp2p peer ID to the operator on `StakeRegistry` (docs/protocol.md §2). */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { peerIdFromChainBytes, peerIdToChainBytes } from "../peer-id.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readChain, writeContractAndWait } from "./write.ts";

export interface BindPeerIdParameters {
  /** A libp2p peer ID string ("12D3KooW…") or its multihash bytes as 0x hex. */
  readonly peerId: string;
}

export interface BindPeerIdReturnType {
  readonly operator: Address;
  readonly peerId: string;
  /** The peer ID bound before (replaced by this one), or null. */
  readonly previousPeerId: string | null;
  /** False when this peer ID was already bound to the operator (no transaction sent). */
  readonly changed: boolean;
  readonly transactionHash: Hex | null;
}

/** Binds `peerId` to the operator; a no-op when it is already bound. */
export async function bindPeerId(
  client: ChainWriteClient,
  { peerId }: BindPeerIdParameters,
): Promise<BindPeerIdReturnType> {
  const bytes = peerIdToChainBytes(peerId);
  const operator = accountOf(client);
  const current = await readChain(client, "read the bound peer ID", () =>
    client.publicClient.readContract({
      address: client.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operator],
    }),
  );
  const previousPeerId = peerIdFromChainBytes(current);
  if (current.toLowerCase() === bytes.toLowerCase()) {
    return { operator, peerId, previousPeerId, changed: false, transactionHash: null };
  }
  const { hash } = await writeContractAndWait(client, {
    action: "bind",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "bindPeerId",
    args: [bytes],
  });
  return { operator, peerId, previousPeerId, changed: true, transactionHash: hash };
}
