import { Option } from "commander";
import type { Command } from "commander";
import pino from "pino";

interface DemoFlags {
  nodes: string;
  rounds: string;
  attack: "sign-flip" | "scaled" | "none";
  cheatRound: string;
  model: "mlp" | "cnn" | "transformer";
  port?: string;
  json?: boolean;
  verbose?: boolean;
  keepRunning?: boolean;
  ui: boolean;
  uiPort: string;
}

function positiveInt(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw Object.assign(new Error(`--${name} must be an integer between 0 and ${max}, got "${text}"`), {
      shortMessage: `--${name} must be an integer between 0 and ${max}, got "${text}"`,
    });
  }
  return value;
}

/** Registers `vain-node demo`: a whole network on an embedded local chain. */
export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run a whole vAIn network here: local chain, contracts, staked nodes on 127.0.0.1, federated MNIST training with zk-checked aggregation, a cheating aggregator and a poisoning trainer",
    )
    .option("--nodes <n>", "number of nodes (3-8)", "8")
    .option("--rounds <n>", "training rounds", "5")
    .addOption(
      new Option("--attack <kind>", "what the poisoning trainer sends")
        .choices(["sign-flip", "scaled", "none"])
        .default("sign-flip"),
    )
    .option("--cheat-round <n>", "round whose aggregator cheats (0: none)", "2")
    .addOption(
      new Option("--model <kind>", "model to train").choices(["mlp", "cnn", "transformer"]).default("mlp"),
    )
    .option("--port <port>", "port of the local chain (default: a free one)")
    .option("--keep-running", "leave the network up after the rounds (Ctrl-C stops it)")
    .option("--no-ui", "do not serve the dashboard")
    .option("--ui-port <port>", "port of the dashboard and status API", "8090")
    .option("--verbose", "print the nodes' logs")
    .option("--json", "print the results as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node demo\n  npx vain-node demo --nodes 5 --rounds 3 --attack scaled\n  npx vain-node demo --cheat-round 0 --json\n  npx vain-node demo --model transformer --nodes 4 --rounds 2\n",
    )
    .action(async (flags: DemoFlags) => {
      const nodes = positiveInt("nodes", flags.nodes, 8);
      const rounds = positiveInt("rounds", flags.rounds, 1000);
      const cheatRound = positiveInt("cheat-round", flags.cheatRound, rounds);
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const tty = process.stderr.isTTY;
      const progress = (line: string): void => {
        if (flags.json === true) return;
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      };
      // Loaded on use: the demo pulls in the whole node (training, proofs, mesh).
      const { formatDemo, runDemo } = await import("../../demo/demo.ts");
      try {
        const result = await runDemo({
          nodes,
          rounds,
          cheatRound,
          attack: flags.attack,
          model: flags.model,
          port: flags.port === undefined ? undefined : positiveInt("port", flags.port, 65_535),
          keepRunning: flags.keepRunning === true,
          signal: controller.signal,
          log:
            flags.verbose === true ? pino({ level: "info" }, pino.destination(2)) : pino({ level: "silent" }),
          onProgress: progress,
          uiPort: flags.ui ? positiveInt("ui-port", flags.uiPort, 65_535) : undefined,
          onDashboard: (url) => {
            if (flags.json !== true)
              process.stderr.write(`${tty ? "\r\x1b[2K" : ""}dashboard and status API: ${url}\n`);
          },
        });
        if (tty && flags.json !== true) process.stderr.write("\r\x1b[2K");
        if (flags.json === true) {
          process.stdout.write(
            `${JSON.stringify(result, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v), 2)}\n`,
          );
        } else {
          process.stdout.write(`${formatDemo(result)}\n`);
        }
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
