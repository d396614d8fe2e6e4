/**
 * Browser wallets: EIP-6963 discovery (every installed wallet announces itself, so several can coexist),
 * `window.ethereum` as the fallback for older wallets, and putting the wallet on the node's chain
 * (`wallet_switchEthereumChain`, or `wallet_addEthereumChain` when the wallet does not know it).
 */
import type { EIP1193Provider } from "viem";

export interface WalletInfo {
  readonly uuid: string;
  readonly name: string;
  /** A data: URI (EIP-6963 requires one). */
  readonly icon: string;
  readonly rdns: string;
}

export interface DiscoveredWallet {
  readonly info: WalletInfo;
  readonly provider: EIP1193Provider;
}

interface AnnounceEvent extends Event {
  readonly detail: DiscoveredWallet;
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

/** How long to wait for announcements before falling back to `window.ethereum`. */
export const DISCOVERY_FALLBACK_MS = 300;

/**
 * Calls `onChange` with the wallets found so far, each time one announces itself. Returns the stop function.
 */
export function discoverWallets(onChange: (wallets: readonly DiscoveredWallet[]) => void): () => void {
  const wallets = new Map<string, DiscoveredWallet>();
  const onAnnounce = (event: Event): void => {
    const detail = (event as AnnounceEvent).detail;
    if (detail?.info?.uuid === undefined || typeof detail.provider?.request !== "function") return;
    wallets.set(detail.info.uuid, detail);
    onChange([...wallets.values()]);
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  const fallback = setTimeout(() => {
    if (wallets.size === 0 && window.ethereum !== undefined) {
      wallets.set("window.ethereum", {
        info: { uuid: "window.ethereum", name: "Browser wallet", icon: "", rdns: "" },
        provider: window.ethereum,
      });
      onChange([...wallets.values()]);
    }
  }, DISCOVERY_FALLBACK_MS);
  return () => {
    clearTimeout(fallback);
    window.removeEventListener("eip6963:announceProvider", onAnnounce);
  };
}

/** Error code of EIP-1193 / EIP-3085: the wallet does not know the chain. */
const UNRECOGNIZED_CHAIN = 4902;

function errorCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number") return code;
  // MetaMask mobile nests the original error.
  const nested = (error as { data?: { originalError?: { code?: unknown } } }).data?.originalError?.code;
  return typeof nested === "number" ? nested : undefined;
}

export function toHexChainId(chainId: number): `0x${string}` {
  return `0x${chainId.toString(16)}`;
}

/** Asks the wallet to use `chainId`, adding it (with the node's RPC URL) when the wallet does not know it. */
export async function switchToChain(
  provider: EIP1193Provider,
  chain: { chainId: number; rpcUrl: string; name: string },
): Promise<void> {
  const chainId = toHexChainId(chain.chainId);
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (error) {
    if (errorCode(error) !== UNRECOGNIZED_CHAIN) throw error;
    await provider.request({
      method: "wallet_addEthereumChain",
      params: [
        {
          chainId,
          chainName: chain.name,
          rpcUrls: [chain.rpcUrl],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        },
      ],
    });
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  }
}
