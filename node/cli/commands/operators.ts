import type { Command } from "commander";

import { formatTokens, parseAddress } from "../../chain/amounts.ts";
import { OPERATOR_SORTS } from "../../chain/actions/read-operators.ts";
import { readDelegations, readOperators } from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { addChainOptions, isoFromSeconds, openReadContext, printResult } from "../chain-context.ts";
import type { ChainFlags } from "../chain-context.ts";

/** Reputation by peer ID from a running node's status API (`/api/peers`), or undefined when unreachable. */
async function reputationFrom(statusUrl: string | undefined): Promise<Map<string, number> | undefined> {
  if (statusUrl === undefined) return undefined;
  try {
    const response = await fetch(new URL("/api/peers", statusUrl));
    if (!response.ok) return undefined;
    const peers = (await response.json()) as readonly { peerId?: unknown; reputation?: unknown }[];
    const map = new Map<string, number>();
    for (const p of peers) {
      if (typeof p.peerId === "string" && typeof p.reputation === "number") map.set(p.peerId, p.reputation);
    }
    return map;
  } catch {
    return undefined;
  }
}

/** Registers `operators` (the directory) and `delegations [address]` (a delegator's positions). */
export function registerOperatorsCommand(program: Command): void {
  addChainOptions(program.command("operators"))
    .description(
      "operator directory: peer ID, self/delegated stake, commission, rounds served, slashes, reputation",
    )
    .option(`--sort <column>`, `sort by ${Object.keys(OPERATOR_SORTS).join(" | ")}`, "stake")
    .option("--status-url <url>", "a running node's status API, for reputation as that node sees it")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node operators\n  npx vain-node operators --sort commission --json\n",
    )
    .action(async (flags: ChainFlags & { sort: string; statusUrl?: string }) => {
      const order = OPERATOR_SORTS[flags.sort];
      if (order === undefined) throw new InvalidArgumentError(`invalid --sort "${flags.sort}"`);
      const ctx = await openReadContext(flags);
      const reputation = await reputationFrom(flags.statusUrl);
      const list = [...(await readOperators(ctx, { reputation }))].sort(order);
      printResult(
        flags,
        { action: "operators", operators: list },
        list.length === 0
          ? ["no operators yet"]
          : list.map(
              (o) =>
                `${o.operator} ${o.retired ? "RETIRED" : o.active ? "active" : "inactive"}  peer ${o.peerId ?? "-"}\n` +
                `  stake ${formatTokens(o.countedStakeWei)} (self ${formatTokens(o.selfStakeWei)}, delegated ${formatTokens(o.delegatedStakeWei)}, ${o.delegators} delegators)\n` +
                `  commission ${o.commissionBps} bps${o.commissionEffectiveAt === 0n ? "" : ` -> ${o.pendingCommissionBps} bps at ${isoFromSeconds(o.commissionEffectiveAt)}`}` +
                `  rounds ${o.roundsServed}  slashes ${o.slashes.length}  reputation ${o.reputation ?? "-"}`,
            ),
      );
    });

  addChainOptions(program.command("delegations [address]"))
    .description(
      "a delegator's positions: active and unbonding value, rewards to claim, slashes that hit them",
    )
    .addHelpText("after", "\nExamples:\n  npx vain-node delegations 0xDelegator --json\n")
    .action(async (addressText: string | undefined, flags: ChainFlags) => {
      if (addressText === undefined) throw new InvalidArgumentError("give the delegator's address");
      const delegator = parseAddress(addressText);
      const ctx = await openReadContext(flags);
      const list = await readDelegations(ctx, { delegator });
      printResult(
        flags,
        { action: "delegations", delegator, delegations: list },
        list.length === 0
          ? [`${delegator} has no delegations`]
          : list.map(
              (d) =>
                `${d.operator}  active ${formatTokens(d.activeWei)}  unbonding ${formatTokens(d.unbondingWei)}` +
                `${d.releaseTime === 0n ? "" : ` (at ${isoFromSeconds(d.releaseTime)})`}  rewards ${formatTokens(d.rewardsWei)}  slashes ${d.slashes.length}`,
            ),
      );
    });
}
