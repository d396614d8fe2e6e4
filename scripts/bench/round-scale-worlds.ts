/**
 * Where bench:round's proven rows run their nodes (round-scale-proven.ts): all in this process (network.ts and
 * group-network.ts, as before), or in K host processes (round-hosts.ts). Either way the row drives the same task
 * tree with the same drivers and reads the same figures; only the process figures (CPU, RSS) add up the hosts.
 */
import type { Address } from "viem";

import type { DrivenNetwork } from "../../node/demo/driven.ts";
import { drawTreeMembers } from "../../node/demo/group-draw.ts";
import { addGroupTasks, addThreeLevelTasks, createTaskTree } from "../../node/demo/group-network.ts";
import { startLocalVainNetwork } from "../../node/demo/network.ts";
import type { LocalVainNetwork, NetworkOptions } from "../../node/demo/network.ts";
import { taskSpecSchema } from "../../node/protocol/task-spec.ts";
import { startHostedNetwork } from "./round-hosts.ts";
import { CapWatch } from "./round-scale.ts";

/** A proven row's network and task tree. */
export interface ProvenWorld {
  /** The chain and its contracts (gas, blocks). */
  readonly chain: Pick<LocalVainNetwork, "publicClient" | "contracts">;
  readonly root: DrivenNetwork;
  /** The middle tasks (three levels), else undefined. */
  readonly middles: readonly DrivenNetwork[] | undefined;
  /** `leaves[m]`: the leaf group tasks under middle m (two levels: `leaves[0]`, all under the root). */
  readonly leaves: readonly (readonly DrivenNetwork[])[];
  /** Every node's operator, by index. */
  readonly addresses: readonly Address[];
  /** Starts watching connections (the peak is read at `stop`'s time from `peakConnections`). */
  watchConnections(): void;
  peakConnections(): number;
  stopWatching(): void;
  /** CPU of every process running nodes or drivers (not the chain's), microseconds so far; state refreshed. */
  cpuMicros(): Promise<number>;
  /** Largest resident set of each such process, summed (MB): an upper bound on their peak together. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** The network options a proven row runs with, wherever its nodes run. */
export type ProvenNetworkOptions = Required<
  Pick<
    NetworkOptions,
    | "nodes"
    | "port"
    | "maxTrainersPerRound"
    | "windowS"
    | "aggregateWindowS"
    | "answerWindowS"
    | "disputeWindowS"
    | "aggregateWaitMs"
    | "pollIntervalMs"
    | "meshEventPollingMs"
    | "spec"
    | "log"
  >
> &
  Pick<NetworkOptions, "sharedReadsMs">;

/**
 * How many of a leaf's drawn members can commit: a round holds at most `maxTrainersPerRound`, and with equal stakes
 * nobody evicts anybody. The chain's draw (group-draw.ts) gives leaves of uneven size when no candidate seed gives
 * the layout asked for: at 512 in 4 hosts 11 of 32 leaves drew more than 16 members (RoundFull for the rest), and a
 * driver waiting for every member's commitment held every leaf at the shared clock's barrier (2026-12-07 17:25).
 */
const committers = (members: number, options: ProvenNetworkOptions): number =>
  Math.min(members, options.maxTrainersPerRound);

const processCpu = (): number => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};
const processRssMb = (): number => process.resourceUsage().maxRSS / 1024;

/** Every node in this process (`middles` undefined: two levels, `leaves` under the root). */
export async function oneProcessWorld(
  options: ProvenNetworkOptions,
  leaves: readonly (readonly number[])[],
  middles: readonly (readonly (readonly number[])[])[] | undefined,
): Promise<ProvenWorld> {
  const net = await startLocalVainNetwork({ ...options, trainers: options.nodes, chained: true });
  try {
    // The network's first task never opens a round here: its idle participants would only poll the chain.
    await Promise.all(net.nodes.map((node) => node.participant.stop()));
    const two = middles === undefined ? await addGroupTasks(net, leaves) : undefined;
    const three = middles === undefined ? undefined : await addThreeLevelTasks(net, middles);
    let caps: CapWatch | undefined;
    return {
      chain: net,
      root: two?.parent ?? three!.root,
      middles: three?.middles,
      leaves: (two === undefined ? three!.leaves : [two.groups]).map((views) =>
        views.map((view) => ({ ...view, trainers: committers(view.trainers, options) })),
      ),
      addresses: net.nodes.map((node) => node.account.address),
      watchConnections: () => void (caps = new CapWatch(net, options.log, 0)),
      peakConnections: () => caps?.peakConnections ?? 0,
      stopWatching: () => caps?.stop(),
      cpuMicros: async () => processCpu(),
      peakRssMb: processRssMb,
      stop: () => net.stop(),
    };
  } catch (error) {
    await net.stop();
    throw error;
  }
}

/** The nodes in `hosts` processes (round-hosts.ts), the chain and the drivers here. */
export async function hostedWorld(
  options: ProvenNetworkOptions,
  hosts: number,
  leaves: readonly (readonly number[])[],
  middles: readonly (readonly (readonly number[])[])[] | undefined,
): Promise<ProvenWorld> {
  const net = await startHostedNetwork({
    ...options,
    hosts,
    spec: taskSpecSchema.parse({ model: { kind: "mlp" }, ...options.spec }),
    sharedReadsMs: options.sharedReadsMs,
  });
  try {
    const tree = await createTaskTree(
      net,
      net.parameterCount,
      middles === undefined ? leaves.map(() => 0) : middles.map((m) => m.length),
    );
    // Groups are the chain's draw (docs/protocol.md §7): the layout asked for where a seed gives it, else the
    // groups the epoch's seed drew (group-draw.ts).
    const groups = await drawTreeMembers(
      {
        publicClient: net.publicClient,
        treasury: net.treasury,
        contracts: net.contracts,
        rpcUrl: net.chain.rpcUrl,
        addresses: net.addresses,
      },
      tree,
      middles ?? [leaves],
    );
    // Per node: root, its middle (three levels), its leaf.
    const chains = new Map<number, bigint[]>();
    for (const [m, groupLeaves] of groups.entries())
      for (const [l, indices] of groupLeaves.entries())
        for (const index of indices)
          chains.set(index, [
            tree.root,
            ...(middles === undefined ? [] : [tree.middles[m]!]),
            tree.leaves[m]![l]!,
          ]);
    await net.runTasks(chains);
    const all = net.addresses.map((_, i) => i);
    return {
      chain: net,
      root: net.view(tree.root, all, middles === undefined ? leaves.length : middles.length),
      middles:
        middles === undefined
          ? undefined
          : groups.map((m, k) => net.view(tree.middles[k]!, m.flat(), m.length)),
      leaves: groups.map((groupLeaves, m) =>
        groupLeaves.map((indices, l) =>
          net.view(tree.leaves[m]![l]!, indices, committers(indices.length, options)),
        ),
      ),
      addresses: net.addresses,
      watchConnections: () => undefined,
      peakConnections: () => Math.max(0, ...net.hosts.map((h) => h.snapshot?.peakConnections ?? 0)),
      stopWatching: () => undefined,
      cpuMicros: async () => {
        await net.refresh();
        return processCpu() + net.hosts.reduce((s, h) => s + (h.snapshot?.cpuMicros ?? 0), 0);
      },
      peakRssMb: () => processRssMb() + net.hosts.reduce((s, h) => s + (h.snapshot?.maxRssKb ?? 0) / 1024, 0),
      stop: () => net.stop(),
    };
  } catch (error) {
    await net.stop();
    throw error;
  }
}
