/**
 * The dashboard: learns the chain and contracts from the node (`GET /api/status`), follows the node's live
 * events, reads the chain directly for the account's position, and sends staking transactions through the
 * user's wallet. Without a wallet it is a read-only network view. The views live in view-*.ts, the actions in
 * actions.ts; this module owns the refresh loops.
 */
import { createPublicClient, defineChain, http } from "viem";

import { stakeRegistryAbi } from "../../node/chain/generated/contracts.ts";
import { connect, runAction, stakingContext, wireActions } from "./actions.ts";
import { applyEvent, fetchStatus, subscribeEvents } from "./api.ts";
import type { NodeStatus } from "./api.ts";
import { mountDelegation } from "./delegation.ts";
import { byId } from "./dom.ts";
import { readPosition } from "./staking.ts";
import { chainName, hooks, state } from "./state.ts";
import { renderAccount, renderActions } from "./view-account.ts";
import { renderBanner, renderLiveIndicator } from "./view-banner.ts";
import { renderHistory } from "./view-history.ts";
import { renderDeadlines, renderNetwork } from "./view-network.ts";
import { discoverWallets } from "./wallet.ts";

/** How often the account position and chain health are re-read (about one local block). */
const CHAIN_REFRESH_MS = 2_000;

function renderAll(): void {
  renderBanner();
  renderAccount((wallet) => void connect(wallet));
  renderNetwork();
  renderHistory();
  renderLiveIndicator();
}

async function refreshChain(): Promise<void> {
  const { publicClient, status } = state;
  if (publicClient === undefined || status === undefined) return;
  try {
    if (state.account !== undefined) {
      state.position = await readPosition(publicClient, status.contracts, state.account);
      state.blockTimeMs = state.position.chainTimeMs;
    } else {
      const block = await publicClient.getBlock({ blockTag: "latest" });
      state.blockTimeMs = Number(block.timestamp) * 1000;
    }
    state.blockReadAt = Date.now();
    state.totalStake = await publicClient.readContract({
      address: status.contracts.stakeRegistry,
      abi: stakeRegistryAbi,
      functionName: "totalActiveStake",
    });
    state.chainDown = false;
  } catch {
    state.chainDown = true;
  }
  renderAll();
}

function setupChain(status: NodeStatus): void {
  if (state.chain?.id === status.chainId && state.chain.rpcUrls.default.http[0] === status.rpcUrl) return;
  state.chain = defineChain({
    id: status.chainId,
    name: chainName(status.chainId),
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [status.rpcUrl] } },
  });
  state.publicClient = createPublicClient({
    chain: state.chain,
    transport: http(status.rpcUrl, { timeout: 8_000, retryCount: 0 }),
    pollingInterval: 500,
  });
}

async function loadStatus(): Promise<void> {
  try {
    const status = await fetchStatus();
    state.status = status;
    state.nodeDown = false;
    setupChain(status);
    const peerInput = byId<HTMLInputElement>("peer-id");
    if (!state.peerIdPrefilled && peerInput.value === "") {
      peerInput.value = status.peerId;
      state.peerIdPrefilled = true;
    }
  } catch {
    state.nodeDown = true;
  }
  renderAll();
}

async function main(): Promise<void> {
  hooks.render = renderAll;
  hooks.refreshChain = refreshChain;
  wireActions();
  // The delegation section (web/src/delegation.ts): directory, delegate, the account's delegations.
  const refreshDelegation = mountDelegation({
    context: stakingContext,
    reader: () =>
      state.publicClient === undefined || state.status === undefined
        ? undefined
        : { publicClient: state.publicClient, contracts: state.status.contracts },
    runAction,
    reputation: () => new Map((state.status?.peers ?? []).map((p) => [p.peerId, p.reputation])),
  });
  // The directory scans events: every third chain refresh is fresh enough for a list that changes per round.
  setInterval(() => void refreshDelegation().catch(() => undefined), CHAIN_REFRESH_MS * 3);
  discoverWallets((wallets) => {
    state.wallets = wallets;
    renderAll();
  });
  await loadStatus();
  subscribeEvents({
    onOpen: () => {
      state.live = true;
      void loadStatus();
    },
    onError: () => {
      state.live = false;
      void loadStatus();
    },
    onEvent: (event) => {
      if (state.status === undefined) return;
      state.status = applyEvent(state.status, event);
      renderAll();
    },
  });
  await refreshChain();
  setInterval(() => void refreshChain(), CHAIN_REFRESH_MS);
  setInterval(() => {
    renderActions();
    renderDeadlines();
  }, 1_000);
  document.body.dataset["ready"] = "true";
}

void main();
