/**
 * The dashboard's delegation page (issue #24): the operator directory (sortable), delegating to an operator
 * from the wallet (EIP-2612 permit, approve + delegate as fallback), and the connected account's
 * delegations with their rewards and the slashes that hit them, with undelegate, withdraw and claim. Every
 * read and write is the node's own chain action (node/chain/actions/); this module renders and wires them.
 */
import type { Address, Chain, PublicClient, Transport } from "viem";

import { claimDelegationRewards } from "../../node/chain/actions/claim-delegation-rewards.ts";
import type { ChainReadClient, ChainWriteClient, TxProgress } from "../../node/chain/actions/client.ts";
import { delegate } from "../../node/chain/actions/delegate.ts";
import { readDelegations } from "../../node/chain/actions/read-delegations.ts";
import type { DelegationEntry } from "../../node/chain/actions/read-delegations.ts";
import { OPERATOR_SORTS, readOperators } from "../../node/chain/actions/read-operators.ts";
import type { OperatorEntry } from "../../node/chain/actions/read-operators.ts";
import { undelegate } from "../../node/chain/actions/undelegate.ts";
import { withdrawDelegation } from "../../node/chain/actions/withdraw-delegation.ts";
import { ChainError } from "../../node/chain/errors.ts";
import { isUnsupportedMethod, isUserRejection } from "./errors.ts";
import { formatVain, shortHex } from "./format.ts";
import type { ActionProgress, Contracts, StakingContext } from "./staking.ts";

export interface DelegationDeps {
  /** The wallet's context, or undefined when no wallet is connected. */
  readonly context: () => StakingContext | undefined;
  /** Read access without a wallet. */
  readonly reader: () =>
    { readonly publicClient: PublicClient<Transport, Chain>; readonly contracts: Contracts } | undefined;
  /** Runs an action with the page's status line (main.ts `runAction`). */
  readonly runAction: (
    label: string,
    action: (ctx: StakingContext, onProgress: (p: ActionProgress) => void) => Promise<bigint>,
  ) => Promise<void>;
  /** Reputation by peer ID as the node sees it. */
  readonly reputation: () => ReadonlyMap<string, number>;
}

/** Directory columns and their order: the CLI's `operators --sort` table. */
export const DIRECTORY_SORTS = OPERATOR_SORTS;

/** Sorts a copy of `list` by `key` (falls back to stake for an unknown key). */
export function sortOperators(list: readonly OperatorEntry[], key: string): OperatorEntry[] {
  return [...list].sort(DIRECTORY_SORTS[key] ?? DIRECTORY_SORTS["stake"]);
}

function percent(bps: bigint): string {
  return `${(Number(bps) / 100).toFixed(2)}%`;
}

function readClient(publicClient: PublicClient<Transport, Chain>, contracts: Contracts): ChainReadClient {
  return {
    publicClient,
    contracts: {
      token: contracts.token,
      registry: contracts.stakeRegistry,
      rounds: contracts.trainingRounds,
    },
  };
}

/** A cell labelled with its column's header (`data-label`: the phone-width stylesheet stacks the table). */
function cell(row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell();
  const header = row.closest("table")?.tHead?.rows[0]?.cells[td.cellIndex]?.textContent?.trim();
  if (header !== undefined && header !== "") td.dataset["label"] = header;
  td.textContent = text;
  if (className !== undefined) td.className = className;
  return td;
}

function button(td: HTMLTableCellElement, label: string, onClick: () => void): void {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  td.append(b);
}

/** Wires the delegation section (`#delegation`) and returns its refresh function. */
export function mountDelegation(deps: DelegationDeps): () => Promise<void> {
  const byId = <T extends HTMLElement>(id: string): T => {
    const node = document.getElementById(id);
    if (node === null) throw new Error(`#${id} missing`);
    return node as T;
  };
  let sortKey = "stake";
  let operators: readonly OperatorEntry[] = [];
  let mine: readonly DelegationEntry[] = [];

  const write = (
    ctx: StakingContext,
    onProgress: (p: ActionProgress) => void,
  ): ChainWriteClient & { lastBlock: () => bigint | undefined } => {
    let block: bigint | undefined;
    return {
      ...readClient(ctx.publicClient, ctx.contracts),
      walletClient: ctx.walletClient,
      onProgress: (event: TxProgress) => {
        if (event.kind === "signing")
          onProgress({ step: "wallet", what: `Confirm the ${event.action} in your wallet…` });
        else if (event.kind === "sent") onProgress({ step: "sent", hash: event.hash });
        else block = event.blockNumber;
      },
      lastBlock: () => block,
    };
  };

  const act = (label: string, body: (client: ChainWriteClient) => Promise<unknown>): void => {
    void deps.runAction(label, async (ctx, onProgress) => {
      const client = write(ctx, onProgress);
      try {
        await body(client);
      } catch (error) {
        throw error instanceof ChainError && error.cause !== undefined ? error.cause : error;
      }
      await refresh();
      return client.lastBlock() ?? (await ctx.publicClient.getBlockNumber());
    });
  };

  const renderDirectory = (): void => {
    const body = byId<HTMLTableSectionElement>("operators-body");
    body.replaceChildren();
    for (const o of sortOperators(operators, sortKey)) {
      const row = body.insertRow();
      row.dataset["operator"] = o.operator;
      cell(row, shortHex(o.operator, 6), "mono");
      cell(row, o.peerId === null ? "—" : `${o.peerId.slice(0, 12)}…`, "mono");
      cell(row, formatVain(o.selfStakeWei));
      cell(row, `${formatVain(o.delegatedStakeWei)} (${o.delegators})`);
      cell(
        row,
        o.commissionEffectiveAt === 0n
          ? percent(o.commissionBps)
          : `${percent(o.commissionBps)} → ${percent(o.pendingCommissionBps)} on ${new Date(Number(o.commissionEffectiveAt) * 1000).toLocaleDateString()}`,
      );
      cell(row, String(o.roundsServed));
      cell(row, String(o.slashes.length));
      cell(row, o.reputation === null ? "—" : o.reputation.toFixed(2));
      const pick = cell(row, "");
      button(pick, "Choose", () => {
        byId<HTMLInputElement>("delegate-operator").value = o.operator;
      });
    }
    for (const th of document.querySelectorAll<HTMLElement>("#operators-table th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset["sort"] === sortKey ? "descending" : "none");
    }
  };

  const renderMine = (): void => {
    const body = byId<HTMLTableSectionElement>("delegations-body");
    body.replaceChildren();
    for (const d of mine) {
      const row = body.insertRow();
      row.dataset["operator"] = d.operator;
      cell(row, shortHex(d.operator, 6), "mono");
      cell(row, formatVain(d.activeWei));
      cell(
        row,
        d.unbondingWei === 0n
          ? "—"
          : `${formatVain(d.unbondingWei)} (at ${new Date(Number(d.releaseTime) * 1000).toLocaleString()})`,
      );
      cell(row, formatVain(d.rewardsWei));
      cell(
        row,
        d.slashes.length === 0
          ? "none"
          : d.slashes
              .map((s) => `block ${s.blockNumber}: pool −${formatVain(s.fromActiveWei + s.fromUnbondingWei)}`)
              .join("; "),
      );
      const actions = cell(row, "");
      button(actions, "Undelegate", () => act("Undelegate", (c) => undelegate(c, { operator: d.operator })));
      button(actions, "Withdraw", () =>
        act("Withdraw delegation", (c) => withdrawDelegation(c, { operator: d.operator })),
      );
      button(actions, "Claim", () =>
        act("Claim delegation rewards", (c) => claimDelegationRewards(c, { operator: d.operator })),
      );
    }
    byId("delegations-empty").hidden = mine.length !== 0;
  };

  const refresh = async (): Promise<void> => {
    const reader = deps.reader();
    if (reader === undefined) return;
    const client = readClient(reader.publicClient, reader.contracts);
    operators = await readOperators(client, { reputation: deps.reputation() });
    renderDirectory();
    const ctx = deps.context();
    mine = ctx === undefined ? [] : await readDelegations(client, { delegator: ctx.account });
    renderMine();
  };

  for (const th of document.querySelectorAll<HTMLElement>("#operators-table th[data-sort]")) {
    th.addEventListener("click", () => {
      sortKey = th.dataset["sort"] ?? "stake";
      renderDirectory();
    });
  }
  byId<HTMLFormElement>("delegate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const operator = byId<HTMLInputElement>("delegate-operator").value.trim() as Address;
    const amountText = byId<HTMLInputElement>("delegate-amount").value.trim();
    const viaApprove = byId<HTMLInputElement>("delegate-use-approve").checked;
    act("Delegate", async (client) => {
      if (!/^0x[0-9a-fA-F]{40}$/.test(operator)) throw new Error("Choose an operator from the directory.");
      if (!/^\d+(\.\d{1,18})?$/.test(amountText)) throw new Error("Enter an amount such as 150 or 0.5.");
      const [whole = "0", fraction = ""] = amountText.split(".");
      const amountWei = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, "0"));
      return delegate(client, {
        operator,
        amountWei,
        usePermit: !viaApprove,
        fallBackAfterSigningError: (error) => !isUserRejection(error) && isUnsupportedMethod(error),
      });
    });
  });
  return refresh;
}
