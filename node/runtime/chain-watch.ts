/**
 * Notices when the chain behind the RPC URL is no longer the one the node started on: a local chain restarted
 * at the same URL (same chain ID, empty state or a redeployment at the same addresses), or an RPC endpoint
 * repointed. The node's round state, peers' stakes and rewards then describe a chain that is gone; acting on
 * them would only produce reverts and evictions. The watch compares, at each check, the genesis block hash,
 * the hash of the deployment block, and the contracts' code hashes (`verifyDeployment`) with what it saw at
 * start, and reports a reset once. A chain that does not answer is not a reset (the status source reports it).
 */
import type { Hex, PublicClient } from "viem";

import type { Deployment } from "../chain/deployment.ts";
import { verifyDeployment } from "../chain/deployment.ts";
import { ChainError, ChainUnreachableError } from "../chain/errors.ts";

/** How often the chain's identity is checked: a few cheap reads, and a reset is rare but must stop the node soon. */
export const CHAIN_RESET_CHECK_INTERVAL_MS = 5_000;

export interface ChainResetWatchInit {
  readonly publicClient: PublicClient;
  readonly deployment: Deployment;
  readonly deploymentPath: string;
  readonly rpcUrl: string;
  readonly intervalMs?: number;
  /** Called once, with the reason, when the chain is found to be another one. */
  readonly onReset: (reason: string) => void;
}

interface ChainIdentity {
  readonly genesisHash: Hex;
  readonly deploymentBlockHash: Hex;
}

export class ChainResetWatch {
  private readonly init: ChainResetWatchInit;
  private identity: ChainIdentity | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private checking: Promise<string | undefined> | undefined;
  private resetReason: string | undefined;

  constructor(init: ChainResetWatchInit) {
    this.init = init;
  }

  /** The reason of the detected reset, if one was detected. */
  get reset(): string | undefined {
    return this.resetReason;
  }

  /** Records the chain's identity now (the deployment was verified just before), then checks periodically. */
  async start(): Promise<void> {
    this.identity = await this.readIdentity();
    this.timer = setInterval(() => void this.check(), this.init.intervalMs ?? CHAIN_RESET_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Checks once; returns the reset reason when this check found one (also reported through `onReset`). */
  check(): Promise<string | undefined> {
    this.checking ??= this.compare().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async readIdentity(): Promise<ChainIdentity> {
    const { publicClient, deployment } = this.init;
    const [genesis, deployed] = await Promise.all([
      publicClient.getBlock({ blockNumber: 0n }),
      publicClient.getBlock({ blockNumber: BigInt(deployment.deploymentBlock) }),
    ]);
    return { genesisHash: genesis.hash, deploymentBlockHash: deployed.hash };
  }

  private async compare(): Promise<string | undefined> {
    if (this.resetReason !== undefined || this.identity === undefined) return undefined;
    const { publicClient, deployment, deploymentPath, rpcUrl } = this.init;
    let reason: string | undefined;
    try {
      const head = await publicClient.getBlockNumber({ cacheTime: 0 });
      if (head < BigInt(deployment.deploymentBlock)) {
        reason = `the chain at ${rpcUrl} is at block ${head}, before the deployment block ${deployment.deploymentBlock}`;
      } else {
        const now = await this.readIdentity();
        if (now.genesisHash !== this.identity.genesisHash) {
          reason = `the chain at ${rpcUrl} has another genesis block (${now.genesisHash.slice(0, 10)}…, was ${this.identity.genesisHash.slice(0, 10)}…)`;
        } else if (now.deploymentBlockHash !== this.identity.deploymentBlockHash) {
          reason = `block ${deployment.deploymentBlock} of the chain at ${rpcUrl} changed (the deployment was reorganised away)`;
        } else {
          await verifyDeployment(publicClient, deployment, deploymentPath, rpcUrl);
        }
      }
    } catch (error) {
      if (error instanceof ChainUnreachableError) return undefined;
      if (error instanceof ChainError && error.code === "DEPLOYMENT_STALE") reason = error.shortMessage;
      // A failed read (node restarting, block not found on a fresh chain) is retried at the next check,
      // except "block not found" for the deployment block, which a fresh, shorter chain gives.
      else if (error instanceof Error && /could not be found|not found/i.test(error.message)) {
        reason = `the chain at ${rpcUrl} no longer has the deployment block ${deployment.deploymentBlock}`;
      } else return undefined;
    }
    if (reason !== undefined) {
      this.resetReason = reason;
      this.stop();
      this.init.onReset(reason);
    }
    return reason;
  }
}
