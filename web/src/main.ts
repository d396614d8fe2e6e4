/**
 * The dashboard: learns the chain and contracts from the node (`GET /api/status`), follows the node's live
 * events, reads the chain directly for the account's position, and sends staking transactions through the
 * user's wallet. Without a wallet it is a read-only network view.
 */
import { createPublicClient, createWalletClient, custom, defineChain, http } from "viem";
import type { Address, Chain, PublicClient, Transport } from "viem";

import { stakeRegistryAbi } from "../../node/chain/generated/contracts.ts";
import { applyEvent, fetchStatus, subscribeEvents } from "./api.ts";
import type { NodeStatus } from "./api.ts";
import { renderBarChart, renderLineChart } from "./charts.ts";
import { describeError } from "./errors.ts";
import { formatBytes, formatDuration, formatVain, shortHex } from "./format.ts";
import { peerIdFromChainBytes, peerIdToChainBytes } from "./peer-id.ts";
import {
  approveAndStake,
  bindPeerId,
  claimRewards,
  parseAmount,
  readPosition,
  requestUnstake,
  stakeWithPermit,
  withdraw,
} from "./staking.ts";
import type { ActionProgress, Position, StakingContext } from "./staking.ts";
import { discoverWallets, switchToChain } from "./wallet.ts";
import type { DiscoveredWallet } from "./wallet.ts";

/** How often the account position and chain health are re-read (about one local block). */
const CHAIN_REFRESH_MS = 2_000;

function byId<T extends Element = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`dashboard markup lacks #${id}`);
  return node as unknown as T;
}

function setText(id: string, text: string, title?: string): void {
  const node = byId(id);
  if (node.textContent !== text) node.textContent = text;
  if (title !== undefined) node.title = title;
}

interface State {
  status?: NodeStatus;
  chain?: Chain;
  publicClient?: PublicClient<Transport, Chain>;
  wallets: readonly DiscoveredWallet[];
  wallet?: DiscoveredWallet;
  account?: Address;
  walletChainId?: number;
  position?: Position;
  totalStake?: bigint;
  /** Latest block time and when it was read, for countdowns on chain time. */
  blockTimeMs?: number;
  blockReadAt: number;
  nodeDown: boolean;
  chainDown: boolean;
  live: boolean;
  busy: boolean;
  peerIdPrefilled: boolean;
}

const state: State = {
  wallets: [],
  blockReadAt: 0,
  nodeDown: false,
  chainDown: false,
  live: false,
  busy: false,
  peerIdPrefilled: false,
};

function chainName(chainId: number): string {
  return chainId === 31337 ? `Hardhat (${chainId})` : `chain ${chainId}`;
}

/** Chain time now: the latest block's time advanced by the wall clock, never behind the wall clock. */
function chainNowMs(): number {
  if (state.blockTimeMs === undefined) return Date.now();
  return Math.max(Date.now(), state.blockTimeMs + (Date.now() - state.blockReadAt));
}

function onRightChain(): boolean {
  return state.status !== undefined && state.walletChainId === state.status.chainId;
}

// ------------------------------------------------------------------ banner

function renderBanner(): void {
  const banner = byId("banner");
  const action = byId<HTMLButtonElement>("banner-action");
  let kind: "info" | "warning" | "error" | undefined;
  let text = "";
  let actionLabel: string | undefined;
  const status = state.status;
  if (state.nodeDown) {
    kind = "error";
    text = "The node's API is not answering. Is the node running? Retrying…";
  } else if (state.chainDown && status !== undefined) {
    kind = "error";
    text = `The chain at ${status.rpcUrl} is not answering: start it (npx hardhat node) or check the node's --rpc. Retrying…`;
  } else if (status !== undefined && (status.alerts ?? []).length > 0) {
    // The node stopped acting (chain reset, disk full): what it shows is stale until the operator acts.
    kind = "error";
    text = (status.alerts ?? []).map((alert) => alert.message).join(" · ");
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

// ------------------------------------------------------------------ account

function renderAccount(): void {
  const position = state.position;
  setText("account", state.account === undefined ? "not connected" : state.account);
  setText(
    "chain",
    state.walletChainId === undefined
      ? "—"
      : `${chainName(state.walletChainId)}${onRightChain() ? "" : " (wrong network)"}`,
  );
  setText("balance", position === undefined ? "—" : formatVain(position.balance));
  setText("active-stake", position === undefined ? "—" : formatVain(position.active));
  setText("unbonding-stake", position === undefined ? "—" : formatVain(position.unbonding));
  setText("claimable", position === undefined ? "—" : formatVain(position.claimable));
  setText(
    "bound-peer-id",
    position === undefined || position.peerId === "0x" ? "none" : peerIdFromChainBytes(position.peerId),
  );
  renderCountdown();
  const ready = state.account !== undefined && onRightChain() && !state.chainDown;
  const enabled = ready && !state.busy;
  for (const id of ["stake-submit", "unstake-submit", "claim", "bind-submit"]) {
    byId<HTMLButtonElement>(id).disabled = !enabled;
  }
  const connectButton = byId<HTMLButtonElement>("connect");
  connectButton.textContent = state.account === undefined ? "Connect wallet" : shortHex(state.account, 4);
  connectButton.disabled = state.account !== undefined;
  const list = byId("wallet-list");
  const showList = state.account === undefined && state.wallets.length > 1;
  list.hidden = !showList;
  if (showList && list.childElementCount !== state.wallets.length) {
    list.replaceChildren(
      ...state.wallets.map((wallet) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "wallet";
        button.textContent = `Connect ${wallet.info.name}`;
        if (wallet.info.icon.startsWith("data:image/")) {
          const icon = document.createElement("img");
          icon.src = wallet.info.icon;
          icon.alt = "";
          icon.width = 16;
          icon.height = 16;
          button.prepend(icon);
        }
        button.addEventListener("click", () => void connect(wallet));
        return button;
      }),
    );
  }
}

function renderCountdown(): void {
  const position = state.position;
  const button = byId<HTMLButtonElement>("withdraw");
  const canAct = state.account !== undefined && onRightChain() && !state.chainDown && !state.busy;
  if (position === undefined || position.unbonding === 0n) {
    setText("release-countdown", position === undefined ? "—" : "nothing unbonding");
    button.disabled = true;
    return;
  }
  const remaining = Number(position.releaseTime) * 1000 - chainNowMs();
  if (remaining > 0) {
    const at = new Date(Number(position.releaseTime) * 1000).toLocaleString();
    setText("release-countdown", `in ${formatDuration(remaining)}`, `withdrawable at ${at} (chain time)`);
    button.disabled = true;
  } else {
    setText("release-countdown", "now: ready to withdraw");
    button.disabled = !canAct;
  }
}

// ------------------------------------------------------------------ network

function renderNetwork(): void {
  const status = state.status;
  if (status === undefined) return;
  setText("node-peer-id", status.peerId);
  setText("node-version", status.version);
  setText("node-chain", `${chainName(status.chainId)} at ${status.rpcUrl}`);
  const alerts = status.alerts ?? [];
  setText(
    "node-ready",
    status.ready
      ? "ready"
      : alerts.length > 0
        ? `not ready: ${alerts.map((a) => a.code.toLowerCase().replace("_", " ")).join(", ")}`
        : "starting / not ready",
  );
  setText("total-stake", state.totalStake === undefined ? "—" : formatVain(state.totalStake));

  const round = status.round;
  setText("round-id", round === null ? "none yet" : `#${round.roundId} (task ${round.taskId})`);
  setText("round-phase", round?.phase ?? "idle");
  byId("round-phase").dataset["phase"] = round?.phase ?? "idle";
  setText("round-trainers", round === null ? "—" : String(round.trainers));
  setText("round-aggregator", round?.aggregator ?? "—");
  renderDeadlines();

  const peersBody = byId("peers-body");
  peersBody.replaceChildren(
    ...(status.peers.length === 0
      ? [row(["No staked peers yet"], 5)]
      : status.peers.map((peer) =>
          row([
            { text: shortHex(peer.peerId, 8), title: peer.peerId, mono: true },
            {
              text: `${shortHex(peer.operator, 4)}${peer.operator.toLowerCase() === state.account?.toLowerCase() ? " (you)" : ""}`,
              title: peer.operator,
              mono: true,
            },
            formatVain(BigInt(peer.stake)),
            `${Math.round(peer.reputation * 100)}%`,
            peer.connected
              ? `connected${peer.latencyMs === undefined ? "" : `, ${peer.latencyMs} ms`}`
              : "not connected",
          ]),
        )),
  );
  peersBody.dataset["count"] = String(status.peers.length);

  const history = [...status.history].sort((a, b) => Number(BigInt(a.roundId) - BigInt(b.roundId)));
  renderLineChart(
    byId<SVGSVGElement>("chart-accuracy"),
    "Accuracy per round",
    history.map((m) => ({ label: m.roundId, value: m.accuracy })),
    (v) => `${(v * 100).toFixed(0)}%`,
    [0, 1],
  );
  renderLineChart(
    byId<SVGSVGElement>("chart-loss"),
    "Loss per round",
    history.map((m) => ({ label: m.roundId, value: m.loss })),
    (v) => v.toFixed(2),
  );
  renderBarChart(
    byId<SVGSVGElement>("chart-bytes"),
    "Bytes per round",
    history.map((m) => ({ label: m.roundId, value: m.bytesSent + m.bytesReceived })),
    formatBytes,
  );

  const slashesBody = byId("slashes-body");
  slashesBody.replaceChildren(
    ...(status.slashes.length === 0
      ? [row(["No slashing so far"], 4)]
      : [...status.slashes]
          .reverse()
          .map((slash) =>
            row([
              { text: shortHex(slash.operator, 4), title: slash.operator, mono: true },
              formatVain(BigInt(slash.amount)),
              slash.reason,
              { text: slash.blockNumber, title: slash.txHash },
            ]),
          )),
  );
  slashesBody.dataset["count"] = String(status.slashes.length);
}

type Cell = string | { text: string; title?: string; mono?: boolean };

function row(cells: readonly Cell[], span?: number): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "string") td.textContent = cell;
    else {
      td.textContent = cell.text;
      if (cell.title !== undefined) td.title = cell.title;
      if (cell.mono === true) td.className = "mono";
    }
    if (span !== undefined) {
      td.colSpan = span;
      td.className = "empty";
    }
    tr.append(td);
  }
  return tr;
}

function renderDeadlines(): void {
  const round = state.status?.round;
  const list = byId("round-deadlines");
  if (round === undefined || round === null || ["finalized", "failed", "idle"].includes(round.phase)) {
    list.replaceChildren();
    return;
  }
  const now = chainNowMs();
  const items = (["commit", "aggregate", "challenge"] as const).flatMap((key) => {
    const at = round.deadlines[key];
    if (at === undefined) return [];
    const li = document.createElement("li");
    const left = at - now;
    li.textContent = `${key[0]?.toUpperCase()}${key.slice(1)} deadline: ${new Date(at).toLocaleTimeString()} (${left > 0 ? `in ${formatDuration(left)}` : "passed"})`;
    return [li];
  });
  list.replaceChildren(...items);
}

// ------------------------------------------------------------------ chain

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

// ------------------------------------------------------------------ wallet

async function connect(wallet: DiscoveredWallet | undefined): Promise<void> {
  if (wallet === undefined) {
    setActionStatus("failed", "No wallet found in this browser: install an Ethereum wallet to stake.");
    return;
  }
  try {
    const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as Address[];
    const account = accounts[0];
    if (account === undefined) throw new Error("The wallet returned no account.");
    state.wallet = wallet;
    state.account = account;
    state.walletChainId = Number(await wallet.provider.request({ method: "eth_chainId" }));
    wallet.provider.on?.("accountsChanged", (next: readonly Address[]) => {
      state.account = next[0];
      state.position = undefined;
      void refreshChain();
    });
    wallet.provider.on?.("chainChanged", (chainId: string) => {
      state.walletChainId = Number(chainId);
      renderAll();
    });
    setActionStatus("idle", "");
  } catch (error) {
    setActionStatus("failed", `Could not connect: ${describeError(error)}`);
  }
  renderAll();
  await refreshChain();
}

async function switchNetwork(): Promise<void> {
  const { wallet, status } = state;
  if (wallet === undefined || status === undefined) return;
  try {
    await switchToChain(wallet.provider, {
      chainId: status.chainId,
      rpcUrl: status.rpcUrl,
      name: chainName(status.chainId),
    });
    state.walletChainId = Number(await wallet.provider.request({ method: "eth_chainId" }));
  } catch (error) {
    setActionStatus("failed", `Could not switch network: ${describeError(error)}`);
  }
  renderAll();
}

function stakingContext(): StakingContext | undefined {
  const { wallet, account, chain, publicClient, status } = state;
  if (wallet === undefined || account === undefined || chain === undefined || publicClient === undefined)
    return undefined;
  if (status === undefined) return undefined;
  const walletClient = createWalletClient({ account, chain, transport: custom(wallet.provider) });
  return { publicClient, walletClient, account, contracts: status.contracts };
}

// ------------------------------------------------------------------ actions

function setActionStatus(kind: "idle" | "pending" | "confirmed" | "failed", text: string): void {
  const node = byId("action-status");
  node.dataset["state"] = kind;
  node.textContent = text;
}

async function runAction(
  label: string,
  action: (ctx: StakingContext, onProgress: (p: ActionProgress) => void) => Promise<bigint>,
): Promise<void> {
  const ctx = stakingContext();
  if (ctx === undefined || state.busy) return;
  state.busy = true;
  renderAll();
  setActionStatus("pending", `${label}: preparing…`);
  try {
    const block = await action(ctx, (progress) =>
      setActionStatus(
        "pending",
        progress.step === "wallet"
          ? `${label}: ${progress.what}`
          : `${label}: pending, transaction ${shortHex(progress.hash, 6)} sent…`,
      ),
    );
    setActionStatus("confirmed", `${label}: confirmed in block ${block}.`);
  } catch (error) {
    setActionStatus("failed", `${label} failed: ${describeError(error)}`);
  } finally {
    state.busy = false;
    await refreshChain();
  }
}

function onSubmit(id: string, handler: () => void): void {
  byId<HTMLFormElement>(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}

function wireActions(): void {
  byId("connect").addEventListener("click", () => void connect(state.wallets[0]));
  byId("banner-action").addEventListener("click", () => void switchNetwork());
  onSubmit("stake-form", () => {
    const input = byId<HTMLInputElement>("stake-amount").value;
    const viaApprove = byId<HTMLInputElement>("use-approve").checked;
    void runAction("Stake", (ctx, progress) => {
      const amount = parseAmount(input);
      return viaApprove ? approveAndStake(ctx, amount, progress) : stakeWithPermit(ctx, amount, progress);
    });
  });
  onSubmit("unstake-form", () => {
    const input = byId<HTMLInputElement>("unstake-amount").value;
    void runAction("Unstake request", (ctx, progress) => requestUnstake(ctx, parseAmount(input), progress));
  });
  byId("withdraw").addEventListener("click", () => void runAction("Withdraw", withdraw));
  byId("claim").addEventListener("click", () => void runAction("Claim", claimRewards));
  onSubmit("bind-form", () => {
    const input = byId<HTMLInputElement>("peer-id").value;
    void runAction("Bind peer ID", (ctx, progress) => bindPeerId(ctx, peerIdToChainBytes(input), progress));
  });
}

// ------------------------------------------------------------------ node

function renderAll(): void {
  renderBanner();
  renderAccount();
  renderNetwork();
  const live = byId("live-indicator");
  // A paused node (chain reset, full disk) still streams, but what it shows is stale: never call it live.
  const paused = (state.status?.alerts ?? []).length > 0;
  live.dataset["state"] = state.nodeDown || paused ? "down" : state.live ? "live" : "connecting";
  live.textContent = state.nodeDown
    ? "Node offline"
    : paused
      ? "Stale (node paused)"
      : state.live
        ? "Live"
        : "Connecting…";
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
  wireActions();
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
    renderCountdown();
    renderDeadlines();
  }, 1_000);
  document.body.dataset["ready"] = "true";
}

void main();
