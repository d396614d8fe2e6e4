import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

import type { Command } from "commander";
import pino from "pino";

import { configFromEnv, readConfigFile, resolveConfig } from "../../config/config.ts";
import { loadNodeKey } from "../../keys/keys.ts";
import { repeatLimiterHook } from "../../runtime/log-limiter.ts";
import { CONFIG_FILE, NODE_KEY_FILE, resolveSigner } from "../chain-context.ts";

interface StartFlags {
  dataDir?: string;
  config?: string;
  rpc?: string;
  deployment?: string;
  listen?: string[];
  bootstrap?: string[];
  apiPort?: string;
  ui?: boolean;
  logLevel?: string;
  profile?: string;
  privateKey?: string;
  passwordFile?: string;
  aggregator?: boolean;
  train?: boolean;
  personalizeSteps?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Registers `vain-node start`: runs a node until SIGINT/SIGTERM, then leaves the mesh and flushes state. */
export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("run a vAIn node: join the mesh, train, aggregate, prove and earn")
    .option("--data-dir <dir>", "data directory from `vain-node init` (default .vain)")
    .option("--config <file>", "config file (default <data-dir>/config.json)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain")
    .option("--deployment <file>", "deployment file (default deployments/<chainId>.json)")
    .option("--listen <multiaddr>", "listen address (repeatable)", collect)
    .option("--bootstrap <multiaddr>", "peer to dial at start (repeatable)", collect)
    .option("--api-port <port>", "status API port (0: off unless --ui)")
    .option("--ui", "serve the dashboard on the status API port")
    .option("--log-level <level>", "trace|debug|info|warn|error|fatal")
    .option("--profile <name>", "mesh profile: default | low-power | local-simulation")
    .option("--no-aggregator", "do not offer to aggregate")
    .option("--no-train", "do not train (validate and serve only)")
    .option(
      "--personalize-steps <n>",
      "fine-tune each new global model for n local steps and keep it local (0: off; helps under strong label skew)",
    )
    .option("--private-key <hex>", "operator key (prefer VAIN_PRIVATE_KEY or the keystore)")
    .option("--password-file <file>", "keystore password file (else VAIN_PASSWORD)")
    .addHelpText(
      "after",
      "\nExamples:\n  VAIN_PASSWORD=... npx vain-node start\n  npx vain-node start --data-dir ./node1 --password-file ./pw --api-port 8080 --ui\n  npx vain-node start --bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW... --log-level debug\n",
    )
    .action(async (flags: StartFlags) => {
      const envLayer = configFromEnv(process.env);
      const dataDir = resolve(flags.dataDir ?? (envLayer["dataDir"] as string | undefined) ?? ".vain");
      const configPath = flags.config ?? join(dataDir, CONFIG_FILE);
      const file = existsSync(configPath) || flags.config !== undefined ? readConfigFile(configPath) : {};
      const config = resolveConfig({
        file,
        env: envLayer,
        flags: {
          dataDir,
          rpcUrl: flags.rpc,
          deployment: flags.deployment,
          listen: flags.listen,
          bootstrap: flags.bootstrap,
          apiPort: flags.apiPort === undefined ? undefined : Number(flags.apiPort),
          ui: flags.ui,
          logLevel: flags.logLevel,
          profile: flags.profile,
          aggregator: flags.aggregator === false ? false : undefined,
          train: flags.train === false ? false : undefined,
          personalization:
            flags.personalizeSteps === undefined
              ? undefined
              : { ...(file["personalization"] ?? {}), steps: Number(flags.personalizeSteps) },
        },
      });
      const log = pino(
        // Repeated warnings (a once-a-second retry) become one line a minute with a count.
        { level: config.logLevel, base: { node: "vain" }, hooks: { logMethod: repeatLimiterHook() } },
        process.stdout.isTTY
          ? (await import("pino-pretty")).default({ colorize: true, destination: 1 })
          : pino.destination(1),
      );
      const { key } = await loadNodeKey(join(dataDir, NODE_KEY_FILE));
      const account = await resolveSigner(flags, dataDir);
      const { VainNode } = await import("../../runtime/vain-node.ts");
      // A run ends on SIGINT/SIGTERM (exit), or when a new group epoch's draw moved the node to another group task
      // of its hierarchy (group-regroup.ts): then a new node runs on the new group, resuming from the data directory.
      const run = (): Promise<"signal" | "regroup"> => {
        let stopping: Promise<void> | undefined;
        let regroup: () => void = () => undefined;
        const node = new VainNode({ config, nodeKey: key, account, log, onRegroup: () => regroup() });
        const stop = (reason: string): Promise<void> => {
          stopping ??= (async () => {
            log.info({ reason }, "shutting down: leaving the mesh and flushing state");
            await node.stop();
            log.info("stopped");
          })();
          return stopping;
        };
        return new Promise<"signal" | "regroup">((resolveRun, reject) => {
          const onSignal = (signal: string) => void stop(signal).then(() => resolveRun("signal"), reject);
          const onInt = () => onSignal("SIGINT");
          const onTerm = () => onSignal("SIGTERM");
          process.once("SIGINT", onInt);
          process.once("SIGTERM", onTerm);
          regroup = () => {
            process.off("SIGINT", onInt);
            process.off("SIGTERM", onTerm);
            void stop("regroup").then(() => resolveRun("regroup"), reject);
          };
          node.start().then(
            () =>
              log.info(
                { peerId: node.peerId, addresses: node.multiaddrs(), api: node.apiUrl },
                "node running",
              ),
            // Stopped while starting (SIGINT while it waits for the chain): the stop above ends the run, exit 0.
            (error: unknown) => {
              if (stopping === undefined) void node.stop().finally(() => reject(error));
            },
          );
        });
      };
      while ((await run()) === "regroup") log.info("running again, in the group task this epoch's seed drew");
    });
}
