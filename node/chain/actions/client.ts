/**
 * What every chain action is given: the viem clients and the three protocol addresses (viem's `client`
 * argument, plus the addresses because every vAIn action talks to the same contracts). Plain data and
 * clients only, nothing from `node:` modules, so the dashboard bundles the same actions as the node.
 */
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

/** The three contract addresses an operator talks to. */
export interface ProtocolAddresses {
  readonly token: Address;
  readonly registry: Address;
  readonly rounds: Address;
}

/** Progress of one action, for a status line ("waiting for transaction…"). */
export type TxProgress =
  | { readonly kind: "signing"; readonly action: string }
  | { readonly kind: "sent"; readonly action: string; readonly hash: Hex }
  | { readonly kind: "mined"; readonly action: string; readonly hash: Hex; readonly blockNumber: bigint };

/** Read-only access: enough for reads and simulations. */
export interface ChainReadClient {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly contracts: ProtocolAddresses;
  /** Used in "cannot reach a chain at …" messages. */
  readonly rpcUrl?: string;
}

/** Signing access: every state-changing action. */
export interface ChainWriteClient extends ChainReadClient {
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  readonly onProgress?: (event: TxProgress) => void;
}

/** The signing account's address. */
export function accountOf(client: ChainWriteClient): Address {
  return client.walletClient.account.address;
}
