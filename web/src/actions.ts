/** Wallet connection, network switch and the staking actions, with their progress in `#action-status`. */
import { createWalletClient, custom } from "viem";
import type { Address } from "viem";

import { byId } from "./dom.ts";
import { describeError } from "./errors.ts";
import { shortHex } from "./format.ts";
import { peerIdToChainBytes } from "./peer-id.ts";
import {
  approveAndStake,
  bindPeerId,
  claimRewards,
  parseAmount,
  requestUnstake,
  stakeWithPermit,
  withdraw,
} from "./staking.ts";
import type { ActionProgress, StakingContext } from "./staking.ts";
import { renderActions } from "./view-account.ts";
import { chainName, hooks, state } from "./state.ts";
import { switchToChain } from "./wallet.ts";
import type { DiscoveredWallet } from "./wallet.ts";

export function setActionStatus(kind: "idle" | "pending" | "confirmed" | "failed", text: string): void {
  const node = byId("action-status");
  node.dataset["state"] = kind;
  node.textContent = text;
}

export async function connect(wallet: DiscoveredWallet | undefined): Promise<void> {
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
      void hooks.refreshChain();
    });
    wallet.provider.on?.("chainChanged", (chainId: string) => {
      state.walletChainId = Number(chainId);
      hooks.render();
    });
    setActionStatus("idle", "");
  } catch (error) {
    setActionStatus("failed", `Could not connect: ${describeError(error)}`);
  }
  hooks.render();
  await hooks.refreshChain();
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
  hooks.render();
}

/** The wallet's signing context, or undefined without a connected wallet (also used by delegation.ts). */
export function stakingContext(): StakingContext | undefined {
  const { wallet, account, chain, publicClient, status } = state;
  if (wallet === undefined || account === undefined || chain === undefined || publicClient === undefined)
    return undefined;
  if (status === undefined) return undefined;
  const walletClient = createWalletClient({ account, chain, transport: custom(wallet.provider) });
  return { publicClient, walletClient, account, contracts: status.contracts };
}

/** Runs one wallet action with the page's status line (also used by delegation.ts). */
export async function runAction(
  label: string,
  action: (ctx: StakingContext, onProgress: (p: ActionProgress) => void) => Promise<bigint>,
): Promise<void> {
  const ctx = stakingContext();
  if (ctx === undefined || state.busy) return;
  state.busy = true;
  hooks.render();
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
    await hooks.refreshChain();
  }
}

function onSubmit(id: string, handler: () => void): void {
  byId<HTMLFormElement>(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}

export function wireActions(): void {
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
  // Whether Bind can act depends on what is typed (a new peer ID, or the one already bound).
  byId("peer-id").addEventListener("input", renderActions);
}
