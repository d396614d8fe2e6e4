/** The banner (node/chain down, node paused, wrong network, read-only) and the live indicator. */
import { byId, setText } from "./dom.ts";
import { chainName, nodePaused, onRightChain, state } from "./state.ts";

export function renderBanner(): void {
  const banner = byId("banner");
  const action = byId<HTMLButtonElement>("banner-action");
  let kind: "info" | "warning" | "error" | undefined;
  let text = "";
  let actionLabel: string | undefined;
  const status = state.status;
  if (state.nodeDown) {
    kind = "error";
    text = "The node's API is not answering. Is the node running? Retrying…";
  } else if (status !== undefined && nodePaused()) {
    // The node stopped acting (chain reset, disk full): what it shows is stale until the operator acts. First,
    // because after a reset the page's own contract reads fail too, and "not answering" would mislead.
    kind = "error";
    text = (status.alerts ?? []).map((alert) => alert.message).join(" · ");
  } else if (state.chainDown && status !== undefined) {
    kind = "error";
    text = `The chain at ${status.rpcUrl} is not answering: start it (npx hardhat node) or check the node's --rpc. Retrying…`;
  } else if (state.account !== undefined && status !== undefined && !onRightChain()) {
    kind = "warning";
    text = `Wrong network: your wallet is on ${chainName(state.walletChainId ?? 0)} but this node uses ${chainName(status.chainId)}.`;
    actionLabel = `Switch wallet to ${chainName(status.chainId)}`;
  } else if (state.account === undefined) {
    kind = "info";
    text =
      state.wallets.length === 0
        ? "Read-only mode: no wallet found in this browser. Install an Ethereum wallet (e.g. MetaMask) to stake."
        : "Read-only mode: connect a wallet to stake, unstake and claim rewards.";
  }
  banner.hidden = kind === undefined;
  banner.dataset["kind"] = kind ?? "";
  setText("banner-text", text);
  action.hidden = actionLabel === undefined;
  if (actionLabel !== undefined) action.textContent = actionLabel;
}

export function renderLiveIndicator(): void {
  const live = byId("live-indicator");
  // A paused node (chain reset, full disk) still streams, but what it shows is stale: never call it live.
  const paused = nodePaused();
  live.dataset["state"] = state.nodeDown || paused ? "down" : state.live ? "live" : "connecting";
  live.textContent = state.nodeDown
    ? "Node offline"
    : paused
      ? "Stale (node paused)"
      : state.live
        ? "Live"
        : "Connecting…";
}
