/**
 * Keeps the operator's on-chain aggregator opt-in equal to what the node wants, and never on while the operator
 * is inactive (active stake below the minimum, e.g. after a slash). Peers refuse an inactive operator's node
 * (admission), so no trainer can deliver an update to it: selected, it could only post an empty aggregate, the
 * round would fail and the operator be slashed again. Found by the soak (scripts/bench/soak.ts): a node slashed
 * below the minimum stayed the only candidate and every later round failed, with nobody at fault but it.
 */
import type { Logger } from "pino";
import { BaseError } from "viem";
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";

import type { ProtocolAddresses } from "../chain/actions/client.ts";
import { setAggregatorOptIn } from "../chain/actions/set-aggregator-opt-in.ts";
import { stakeRegistryAbi, trainingRoundsAbi } from "../chain/contracts.ts";
import { MODEL_LACK_GRACE_MS, MODEL_REGAIN_HOLD_MS } from "../protocol/round/current-model.ts";

/** How often the opt-in is re-checked against the operator's stake (ms): a slash must end it within a round. */
export const OPT_IN_STAKE_CHECK_INTERVAL_MS = 10_000;
/**
 * How long a stopping node waits for its opt-in's withdrawal (ms): one transaction per task, a few blocks on a
 * busy chain. Bounded so that a chain that is down cannot keep the node from stopping.
 */
export const OPT_IN_WITHDRAW_TIMEOUT_MS = 20_000;

/** What the node's aggregator opt-in depends on. */
export interface OptInInputs {
  /** The operator's config: `auto`, or an explicit choice. */
  readonly setting: boolean | "auto";
  /** The capacity/reputation decision (`auto`); undefined before any capacity was measured. */
  readonly capacity: { readonly optIn: boolean; readonly reason: string } | undefined;
  /** Whether this node's profile allows aggregation duty at all. */
  readonly duty: boolean;
  /** Set while the node's recent proofs plus the answer transaction miss the task's answer window (ms needed). */
  readonly answerNeedsMs: number | undefined;
  /**
   * Set while the node's recent round ticks are too slow to notice a selection and post within the task's
   * aggregate window (ms needed; reaction-budget.ts).
   */
  readonly reactionNeedsMs?: number | undefined;
  /** Why the disk counts as full, while it does. */
  readonly diskFull: string | undefined;
  /**
   * Whether the node is replaying the task's history to get its current model (joined late, or lost its disk):
   * drawn as aggregator without the base model it could not post, and would be slashed for a missed aggregation.
   */
  readonly modelSyncing?: boolean;
  /**
   * Set while the node counts as lacking the task's current model (current-model.ts): how long it has lacked it
   * (ms), 0 while it holds it again but not yet for the regain hold. The reason does not carry the duration: a
   * changed reason is logged and re-announced in the capacity record.
   */
  readonly modelMissingMs?: number | undefined;
}

/**
 * The opt-in to apply and why: the operator's explicit setting, else the capacity/reputation decision; never on
 * without aggregation duty (low-power profile or `resources.aggregatorDuty: false`), while recent proofs would
 * miss the answer window or recent ticks the aggregate window, while the disk is full, while the task's model
 * is being synced, or while the node lacks the task's current model (and a while after it got it back).
 */
export function decideOptIn(inputs: OptInInputs): { optIn: boolean; reason: string } {
  const { setting, capacity, duty, answerNeedsMs, reactionNeedsMs, diskFull, modelSyncing = false } = inputs;
  const { modelMissingMs } = inputs;
  const wanted = setting === "auto" ? (capacity?.optIn ?? false) : setting && duty;
  const optIn =
    wanted &&
    answerNeedsMs === undefined &&
    reactionNeedsMs === undefined &&
    diskFull === undefined &&
    !modelSyncing &&
    modelMissingMs === undefined;
  const reason =
    diskFull !== undefined
      ? diskFull
      : modelSyncing
        ? "syncing the task's model (replaying its rounds); a drawn aggregator without it could not post"
        : modelMissingMs !== undefined
          ? modelMissingMs > 0
            ? `lacks the task's current model (over ${MODEL_LACK_GRACE_MS / 1000} s); a drawn aggregator without it could not post`
            : `holds the task's current model again, for less than ${MODEL_REGAIN_HOLD_MS / 1000} s: not a candidate in the round it caught up in`
          : answerNeedsMs !== undefined
            ? `recent proofs need ${Math.ceil(answerNeedsMs / 1000)} s with the answer transaction, more than the task's answer window`
            : reactionNeedsMs !== undefined
              ? `recent round ticks need ${Math.ceil(reactionNeedsMs / 1000)} s to notice a selection and post, more than the task's aggregate window`
              : setting === "auto"
                ? (capacity?.reason ?? "no capacity measured")
                : "set by the operator";
  return { optIn, reason };
}

export interface OptInSync {
  /** The tasks the node runs: the operator volunteers for their rounds only (candidates are per task). */
  readonly taskIds: readonly bigint[];
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly contracts: ProtocolAddresses;
  readonly log: Logger;
}

/** What a sync found: the opt-in now on chain, and whether the operator is active (stake at the minimum or more). */
export interface OptInState {
  readonly optedIn: boolean;
  readonly active: boolean;
}

/**
 * Whether an inactive operator's node holds new work (no training): the chain refuses its commitments and peers
 * its pushes, so training only burned CPU and repeated "commit not accepted" and "base model not available" every
 * round (an operator slashed below the minimum in the 60-minute soak, 2026-12-06). Not an alert (`/ready` stays
 * as it is): a node waiting for its operator's stake is not broken. Each change is logged once.
 */
export class InactiveHold {
  /** The hold reason while the operator is inactive. */
  reason: string | undefined;

  /** Records what a sync found; true when the hold changed (the caller re-applies it). */
  update(active: boolean, operator: string, log: Logger): boolean {
    if (active === (this.reason === undefined)) return false;
    this.reason = active
      ? undefined
      : `operator ${operator} is below the minimum active stake (inactive): the chain refuses its commitments and peers refuse this node, so it takes no new work until it stakes the difference (vain-node stake)`;
    if (this.reason === undefined) log.info({ operator }, "operator active again: taking new work");
    else log.warn({ operator }, this.reason);
    return true;
  }
}

/**
 * Applies `wanted` (false when the operator is inactive) to every task of `sync.taskIds`, with a transaction only
 * where the chain differs. Returns the opt-in now on chain (true only if opted in for every task) and whether the
 * operator is active.
 */
export async function syncAggregatorOptIn(sync: OptInSync, wanted: boolean): Promise<OptInState> {
  const { taskIds, publicClient, wallet, contracts, log } = sync;
  const me = wallet.account.address.toLowerCase();
  const [lists, active] = await Promise.all([
    Promise.all(
      taskIds.map((taskId) =>
        publicClient.readContract({
          address: contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "aggregatorCandidates",
          args: [taskId],
        }),
      ),
    ),
    publicClient.readContract({
      address: contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "isActiveOperator",
      args: [wallet.account.address],
    }),
  ]);
  const optIn = wanted && active;
  const stale = taskIds.filter((_, i) => lists[i]!.some((c) => c.toLowerCase() === me) !== optIn);
  if (stale.length === 0) return { optedIn: optIn, active };
  for (const taskId of stale)
    await setAggregatorOptIn({ publicClient, walletClient: wallet, contracts }, { taskId, optIn });
  const tasks = stale.map(String);
  if (wanted && !active) {
    log.warn(
      { aggregator: false, operator: wallet.account.address, tasks },
      `aggregator opt-in withdrawn: operator ${wallet.account.address} is below the minimum active stake (inactive), peers refuse this node and it could not aggregate; stake the difference to offer again`,
    );
  } else log.info({ aggregator: optIn, tasks }, "aggregator opt-in updated");
  return { optedIn: optIn, active };
}

/** What an `OptInKeeper` needs from its node. */
export interface OptInKeeperOptions {
  readonly sync: OptInSync;
  /** The opt-in the node wants now (its `decideOptIn` over live inputs). */
  readonly wanted: () => boolean;
  /** True while the keeper must not touch the chain (a reset chain is not the one the node knows). */
  readonly suspended: () => boolean;
  /** Called when the operator turns inactive or active again, so the node re-applies its hold. */
  readonly onActiveChange: () => void;
  /** Re-check interval (ms): receipts, reputation and stake change over time. */
  readonly intervalMs: number;
}

/**
 * Keeps the on-chain opt-in equal to what the node wants, one check at a time (a transaction may outlast the
 * interval), and tracks whether the operator is active (`inactiveReason`). Start/stop lifecycle.
 */
export class OptInKeeper {
  private readonly options: OptInKeeperOptions;
  private readonly inactive = new InactiveHold();
  private syncing: Promise<void> | undefined;
  /** The check `resync` queued after the one under way. */
  private rerun: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(options: OptInKeeperOptions) {
    this.options = options;
  }

  /** Why the operator's node holds new work, while it is inactive. */
  get inactiveReason(): string | undefined {
    return this.inactive.reason;
  }

  /** Syncs once (a chain outage is logged, not thrown), then on the interval. */
  async start(): Promise<void> {
    await this.sync();
    // Stopped during the first check (the node was stopped while starting): no timer may outlive it.
    if (this.stopped) return;
    this.timer ??= setInterval(() => void this.sync(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Re-decides now because the wish changed (the node lost the task's current model): a check under way decided
   * with the old wish, so one more runs after it instead of joining it (a joined check left the withdrawal to the
   * next interval, 10 s, past a commit deadline).
   */
  resync(): Promise<void> {
    const running = this.syncing;
    if (running === undefined) return this.sync();
    this.rerun ??= running.then(() => {
      this.rerun = undefined;
      return this.stopped ? undefined : this.sync();
    });
    return this.rerun;
  }

  /**
   * Takes the operator off every task's candidate list, for a node that is stopping: the draw does not know a
   * node is down, and a candidate drawn while its node is stopped misses the aggregation and is slashed (it stays
   * a candidate only while its node keeps it one). Waits for a check under way first (it may be opting in), at
   * most `timeoutMs` in all; resolves whether the withdrawal landed. The next start opts in again as it decides.
   */
  async withdraw(timeoutMs: number = OPT_IN_WITHDRAW_TIMEOUT_MS): Promise<boolean> {
    this.stop();
    const { sync, suspended } = this.options;
    if (suspended()) return false; // not the chain the node knows
    let timer: ReturnType<typeof setTimeout> | undefined;
    const notWithdrawn = (reason: string): false => {
      sync.log.warn(
        { reason },
        "aggregator opt-in not withdrawn while stopping: this operator stays a candidate until its node runs again, and is slashed if drawn meanwhile",
      );
      return false;
    };
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(notWithdrawn(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const withdrawal = (async () => {
      await this.syncing;
      await syncAggregatorOptIn(sync, false);
      return true;
    })().catch((error: unknown) =>
      notWithdrawn(error instanceof BaseError ? error.shortMessage : String(error)),
    );
    try {
      return await Promise.race([withdrawal, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Applies the wanted opt-in now; joins a check already under way. */
  sync(): Promise<void> {
    const { sync, wanted, suspended, onActiveChange } = this.options;
    if (suspended()) return Promise.resolve();
    this.syncing ??= syncAggregatorOptIn(sync, wanted())
      .then(({ active }) => {
        if (this.inactive.update(active, sync.wallet.account.address, sync.log)) onActiveChange();
      })
      // viem's own message, not the error object: during an RPC outage this repeats every 10 s, and the
      // serialized error carries the whole contract ABI (~10 KB a line in the soak's logs).
      .catch((error: unknown) =>
        sync.log.warn(
          { reason: error instanceof BaseError ? error.shortMessage : String(error) },
          "aggregator opt-in update failed",
        ),
      )
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }
}
