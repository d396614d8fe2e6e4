/** "Your stake": the connected account's position, the actions, and why a disabled action cannot act. */
import { actionAvailability } from "./availability.ts";
import type { ActionId } from "./availability.ts";
import { byId, setText } from "./dom.ts";
import { formatDuration, formatVain, shortHex } from "./format.ts";
import { peerIdFromChainBytes } from "./peer-id.ts";
import { chainName, chainNowMs, onRightChain, state } from "./state.ts";
import type { DiscoveredWallet } from "./wallet.ts";

/** The node's alert code for a chain reset (node/runtime/vain-node.ts). */
const CHAIN_RESET_ALERT = "CHAIN_RESET";

/** The button of each action; its reason is shown in `#<action>-reason`. */
const BUTTONS: Readonly<Record<ActionId, string>> = {
  stake: "stake-submit",
  unstake: "unstake-submit",
  withdraw: "withdraw",
  claim: "claim",
  bind: "bind-submit",
};

export function renderAccount(connect: (wallet: DiscoveredWallet) => void): void {
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
  renderActions();
  const connectButton = byId<HTMLButtonElement>("connect");
  connectButton.textContent = state.account === undefined ? "Connect wallet" : shortHex(state.account, 4);
  connectButton.disabled = state.account !== undefined;
  renderWalletList(connect);
}

/** Enables each action button, or disables it with its reason beside it (also every second: countdowns). */
export function renderActions(): void {
  const position = state.position;
  const status = state.status;
  const availability = actionAvailability({
    connected: state.account !== undefined,
    ...(status !== undefined && state.account !== undefined && !onRightChain()
      ? { wrongChain: chainName(status.chainId) }
      : {}),
    chainDown: state.chainDown,
    chainReset: (status?.alerts ?? []).some((alert) => alert.code === CHAIN_RESET_ALERT),
    busy: state.busy,
    ...(position === undefined ? {} : { position }),
    nowMs: chainNowMs(),
    peerIdInput: byId<HTMLInputElement>("peer-id").value,
  });
  for (const [action, buttonId] of Object.entries(BUTTONS) as [ActionId, string][]) {
    const reason = availability[action];
    byId<HTMLButtonElement>(buttonId).disabled = reason !== undefined;
    const note = byId(`${action}-reason`);
    note.hidden = reason === undefined;
    setText(`${action}-reason`, reason ?? "");
  }
  if (position === undefined || position.unbonding === 0n) {
    setText("release-countdown", position === undefined ? "—" : "nothing unbonding");
    return;
  }
  const remaining = Number(position.releaseTime) * 1000 - chainNowMs();
  if (remaining > 0) {
    const at = new Date(Number(position.releaseTime) * 1000).toLocaleString();
    setText("release-countdown", `in ${formatDuration(remaining)}`, `withdrawable at ${at} (chain time)`);
  } else {
    setText("release-countdown", "now: ready to withdraw");
  }
}

function renderWalletList(connect: (wallet: DiscoveredWallet) => void): void {
  const list = byId("wallet-list");
  const showList = state.account === undefined && state.wallets.length > 1;
  list.hidden = !showList;
  if (!showList || list.childElementCount === state.wallets.length) return;
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
      button.addEventListener("click", () => connect(wallet));
      return button;
    }),
  );
}
