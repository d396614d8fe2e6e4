import type { Command } from "commander";
import { formatEther } from "viem";

import type { NodeStatus } from "../../api/status.ts";
import { formatTokens } from "../../chain/amounts.ts";
import { InvalidRpcUrlError } from "../../chain/errors.ts";
import { resolveTaskId, TASK_OPTION, TASK_OPTION_HELP } from "../task-option.ts";
import { readOperatorStatus } from "../../chain/operator-status.ts";
import type { LatestRound, OperatorStatus } from "../../chain/operator-status.ts";
import { formatWait } from "../../chain/actions/withdraw.ts";
import {
  addSignerOptions,
  isoFromSeconds,
  openReadContext,
  printResult,
  resolveReadAddress,
} from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** How long the running node's status API may take: it answers from memory. */
const NODE_API_TIMEOUT_MS = 3_000;

/** What the running node adds to the chain's view (the chain cannot know peers or reputation). */
export interface NodeApiSummary {
  readonly reachable: boolean;
  readonly error?: string;
  readonly peerId?: string;
  readonly peers?: number;
  readonly connectedPeers?: number;
  /** Mean reputation of known peers, in [0, 1]; null with no peers. */
  readonly meanPeerReputation?: number | null;
  readonly roundPhase?: string | null;
}

/** Asks a running node's status API (`/api/status`, node/api) for peers, reputation and round phase. */
export async function fetchNodeApiSummary(apiUrl: string): Promise<NodeApiSummary> {
  let url: URL;
  try {
    url = new URL("/api/status", apiUrl);
  } catch {
    throw new InvalidRpcUrlError(apiUrl);
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(NODE_API_TIMEOUT_MS) });
    if (!response.ok) return { reachable: false, error: `HTTP ${response.status} from ${url.href}` };
    const status = (await response.json()) as NodeStatus;
    const peers = status.peers ?? [];
    return {
      reachable: true,
      peerId: status.peerId,
      peers: peers.length,
      connectedPeers: peers.filter((p) => p.connected).length,
      meanPeerReputation:
        peers.length === 0 ? null : peers.reduce((s, p) => s + p.reputation, 0) / peers.length,
      roundPhase: status.round?.phase ?? null,
    };
  } catch (error) {
    return {
      reachable: false,
      error: `cannot reach the node API at ${url.href}: ${(error as Error).message}`,
    };
  }
}

/**
 * The deadline that matters in the round's state, against the chain's clock: a round shown "challenging" next to
 * its long-passed commit deadline read as stuck. A passed deadline says what the round waits for instead.
 */
export function roundDeadline(r: LatestRound, now: bigint): string {
  const at = (label: string, deadline: bigint, after: string): string =>
    deadline > now ? `, ${label} ${isoFromSeconds(deadline)}` : `, ${after}`;
  switch (r.state) {
    case "open":
      return at("commit by", r.commitDeadline, "commit window closed: aggregator selection next");
    case "aggregating":
      return at(
        "aggregate by",
        r.aggregateDeadline,
        "aggregate deadline passed: a missed aggregation (the backup takes over, or the round fails)",
      );
    case "challenging":
      return at(
        "challenges until",
        r.challengeDeadline,
        "challenge window over: answers and disputes, then finalize",
      );
    default:
      return "";
  }
}

function humanStatus(s: OperatorStatus, node: NodeApiSummary | undefined): string[] {
  // Each unstake request has its own release time: say what withdraws now and when the next part does.
  const locked = s.unbondingRequests.filter((r) => r.releaseTime > s.blockTimestamp + 1n);
  const next = locked.reduce<bigint | undefined>(
    (t, r) => (t === undefined || r.releaseTime < t ? r.releaseTime : t),
    undefined,
  );
  const parts = [
    ...(s.withdrawableStakeWei > 0n ? [`${formatTokens(s.withdrawableStakeWei)} withdrawable now`] : []),
    ...(next === undefined
      ? []
      : [`next release ${isoFromSeconds(next)}, in ${formatWait(next - s.blockTimestamp)}`]),
  ];
  const unbonding =
    s.unbondingStakeWei === 0n ? "0.0 VAIN" : `${formatTokens(s.unbondingStakeWei)} (${parts.join("; ")})`;
  const r = s.network.latestRound;
  const lines = [
    `operator ${s.operator} on chain ${s.chainId} (block ${s.blockNumber})`,
    `  status           ${s.isActive ? "active" : `inactive (needs ${formatTokens(s.minStakeWei)} active stake)`}`,
    `  active stake     ${formatTokens(s.activeStakeWei)}`,
    `  unbonding        ${unbonding}`,
    `  claimable        ${formatTokens(s.claimableWei)}`,
    `  token balance    ${formatTokens(s.tokenBalanceWei)}`,
    `  ETH balance      ${formatEther(s.ethBalanceWei)} ETH`,
    `  peer ID          ${s.peerId ?? "none bound (run `vain-node bind`)"}`,
    `  aggregator       ${s.aggregatorOptedIn ? "opted in" : "not opted in"} for task ${s.taskId} (${s.network.aggregatorCandidates} candidates)`,
    `network`,
    `  total stake      ${formatTokens(s.network.totalActiveStakeWei)} (min stake ${formatTokens(s.minStakeWei)}, unbonding delay ${formatWait(s.unbondingDelayS)})`,
    `  tasks / rounds   ${s.network.tasks} / ${s.network.rounds}`,
    r === null
      ? `  latest round     none`
      : `  latest round     ${r.roundId} (task ${r.taskId}) ${r.state}, ${r.trainers} trainer(s)${roundDeadline(r, s.blockTimestamp)}`,
  ];
  if (node !== undefined) {
    lines.push("node");
    if (!node.reachable) lines.push(`  api              ${node.error ?? "unreachable"}`);
    else {
      lines.push(`  peer ID          ${node.peerId ?? "?"}`);
      lines.push(`  peers            ${node.connectedPeers ?? 0} connected of ${node.peers ?? 0} known`);
      lines.push(
        `  mean reputation  ${node.meanPeerReputation === null || node.meanPeerReputation === undefined ? "n/a" : node.meanPeerReputation.toFixed(3)}`,
      );
      lines.push(`  round phase      ${node.roundPhase ?? "idle"}`);
    }
  }
  return lines;
}

/** Registers `status`: read-only, no password needed. */
export function registerStatusCommand(program: Command): void {
  addSignerOptions(program.command("status"))
    .description(
      "show an operator's stake, unbonding, rewards, peer binding and the latest round (read-only)",
    )
    .option(
      "--address <addr>",
      "operator to show (default: the key's or the keystore's address; no unlock needed)",
    )
    .option("--api <url>", "also ask a running node's status API for peers, reputation and round phase")
    .option(TASK_OPTION, `${TASK_OPTION_HELP}: the aggregator opt-in and candidates shown are this task's`)
    .addHelpText(
      "after",
      "\nThe address comes from --address, else --private-key / VAIN_PRIVATE_KEY, else the keystore's address field.\n\nExamples:\n  npx vain-node status\n  npx vain-node status --address 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json\n  npx vain-node status --api http://127.0.0.1:8080\n",
    )
    .action(async (flags: SignerFlags & { address?: string; api?: string; task?: string }) => {
      const ctx = await openReadContext(flags);
      const address = await resolveReadAddress(flags, ctx.dataDir);
      const status = await readOperatorStatus(ctx, address, resolveTaskId(flags.task, ctx.dataDir));
      const node = flags.api === undefined ? undefined : await fetchNodeApiSummary(flags.api);
      printResult(flags, { ...status, ...(node === undefined ? {} : { node }) }, humanStatus(status, node));
    });
}
