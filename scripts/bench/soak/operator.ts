/**
 * The soak's model of an operator: after its node is slashed below the minimum active stake (inactive: the chain
 * refuses its commitments and peers refuse its node), the operator tops the stake back up, through the CLI as a
 * user would (`vain-node fund`, as buying the tokens, then `vain-node stake`). Without it a run of hours lost
 * every faulted node for good: session 16's soak had three operators slashed twice each for injected faults,
 * inactive from rounds 34, 70 and 89, and the network it measured was down to one trainer.
 * The soak reports every top-up (node, round, VAIN) so the bond the faults cost stays visible.
 */
import type { Address } from "viem";

import { STAKE_VAIN } from "./network.ts";
import type { SoakNetwork } from "./network.ts";
import type { SoakNode } from "./node-process.ts";
import type { ChainObserver } from "./observer.ts";

/** One top-up: the operator staked `amountVain` back after its active stake fell below the minimum. */
export interface RestakeRow {
  readonly node: number;
  readonly at: number;
  /** The newest round the observer knew when the top-up landed. */
  readonly round: bigint;
  readonly amountVain: number;
  /** Active stake (VAIN) before the top-up. */
  readonly fromVain: number;
}

const WEI_PER_VAIN = 10n ** 18n;

/**
 * Watches the slashed operators and restakes each below the minimum back to its set-up stake (`SoakNode.stakeVain`), not
 * just to the minimum: an operator left at the minimum is one slash from inactive again.
 */
export class SoakOperators {
  readonly restakes: RestakeRow[] = [];
  /** Nodes to check: slashed since their last check, or a top-up that failed (retried on the next tick). */
  private readonly pending = new Set<SoakNode>();
  private working: Promise<void> | undefined;
  private seenSlashes = 0;
  private readonly network: SoakNetwork;
  private readonly observer: ChainObserver;
  private readonly say: (line: string) => void;

  constructor(network: SoakNetwork, observer: ChainObserver, say: (line: string) => void) {
    this.network = network;
    this.observer = observer;
    this.say = say;
  }

  /** Called every tick: queues the operators slashed since the last call and tops up one node at a time. */
  tick(): void {
    for (const slash of this.observer.slashes.slice(this.seenSlashes)) {
      const node = this.network.nodes.find((n) => n.address?.toLowerCase() === slash.operator.toLowerCase());
      if (node !== undefined) this.pending.add(node);
    }
    this.seenSlashes = this.observer.slashes.length;
    if (this.working !== undefined || this.pending.size === 0) return;
    const node = [...this.pending][0]!;
    this.pending.delete(node);
    this.working = this.topUp(node)
      .catch((error: unknown) => {
        // A transaction racing the node's own (same account, nonce read at send) or a chain hiccup: next tick.
        this.pending.add(node);
        this.say(
          `operator ${node.index}: top-up failed, retrying: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        );
      })
      .finally(() => (this.working = undefined));
  }

  /** Waits for a top-up in progress (the end of the run). */
  async settle(): Promise<void> {
    await this.working;
  }

  private async topUp(node: SoakNode): Promise<void> {
    const operator = node.address as Address;
    const { active, min } = await this.observer.stakeOf(operator);
    if (active >= min) return;
    const target = BigInt(node.stakeVain > 0 ? node.stakeVain : STAKE_VAIN) * WEI_PER_VAIN;
    const missingWei = target - active;
    // Whole VAIN, rounded up: the CLI's amount as an operator types it.
    const amountVain = Number((missingWei + WEI_PER_VAIN - 1n) / WEI_PER_VAIN);
    await this.network.cli(["fund", node.dataDir, String(amountVain), "--eth", "0"]);
    await this.network.cli(["stake", String(amountVain), "--data-dir", node.dataDir]);
    const row: RestakeRow = {
      node: node.index,
      at: Date.now(),
      round: this.observer.latest()?.id ?? 0n,
      amountVain,
      fromVain: Number(active / 10n ** 15n) / 1000,
    };
    this.restakes.push(row);
    node.note(
      `operator restaked ${amountVain} VAIN (active stake was ${row.fromVain} VAIN, below the minimum)`,
    );
    this.say(`operator ${node.index}: restaked ${amountVain} VAIN (active stake was ${row.fromVain})`);
  }
}
