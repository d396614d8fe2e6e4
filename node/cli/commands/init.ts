import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { Command } from "commander";

import { ConfigError } from "../../config/errors.ts";
import { KeyError, createKeystore, createNodeKey, readPassword } from "../../keys/keys.ts";

/** Notes written beside config.json: JSON has no comments, so the reference lives in CONFIG.txt. */
const CONFIG_NOTES = `vAIn node configuration (config.json). Precedence: defaults < config.json < VAIN_* env < flags.
  dataDir         where keys and round state live (default .vain)
  rpcUrl          JSON-RPC URL of the chain (VAIN_RPC_URL)
  listen          libp2p listen multiaddrs
  bootstrap       peers to dial at start
  apiPort         status API port, 0 = OS-assigned (VAIN_API_PORT)
  logLevel        trace|debug|info|warn|error|fatal (VAIN_LOG_LEVEL)
  roundTimeoutMs  e.g. "60s" (VAIN_ROUND_TIMEOUT)
  trainTimeoutMs  e.g. "30s" (VAIN_TRAIN_TIMEOUT)
`;

interface InitFlags {
  dataDir: string;
  passwordFile?: string;
  json?: boolean;
  shard?: string;
  shards?: string;
}

/** The `data` config for --shard/--shards (both or neither), checked before anything is written. */
function dataShard(flags: InitFlags): { kind: "mnist"; shard: number; shards: number } | undefined {
  if (flags.shard === undefined && flags.shards === undefined) return undefined;
  const shard = Number(flags.shard);
  const shards = Number(flags.shards);
  if (
    flags.shard === undefined ||
    flags.shards === undefined ||
    !Number.isInteger(shard) ||
    !Number.isInteger(shards) ||
    shards < 1 ||
    shard < 0 ||
    shard >= shards
  ) {
    throw new ConfigError(
      "CONFIG_INVALID",
      `--shard and --shards go together, with 0 <= shard < shards (got --shard ${flags.shard ?? "?"} --shards ${flags.shards ?? "?"})`,
    );
  }
  return { kind: "mnist", shard, shards };
}

/** Registers `vain-node init`: creates the data dir, node key, encrypted keystore and a starter config. */
export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("create a data directory with a node key, an encrypted account keystore and a config file")
    .option("--data-dir <dir>", "data directory", ".vain")
    .option("--password-file <file>", "file whose first line is the keystore password (else VAIN_PASSWORD)")
    .option("--shard <i>", "train on shard i of the bundled MNIST (0-based; with --shards)")
    .option("--shards <n>", "number of shards the bundled MNIST is split into (one per node)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nNodes that train the same shard add nothing but noise: give each node its own with --shard/--shards.\n\nExamples:\n  VAIN_PASSWORD=... npx vain-node init\n  npx vain-node init --data-dir ./node1 --password-file ./pw --shard 0 --shards 3 --json\n",
    )
    .action(async (options: InitFlags) => {
      const dir = resolve(options.dataDir);
      const data = dataShard(options);
      if (existsSync(join(dir, "node.key")) || existsSync(join(dir, "keystore.json"))) {
        // Never overwrite keys: a lost node key loses its on-chain peer binding, a lost keystore its stake.
        throw new KeyError(
          "KEY_FILE_UNREADABLE",
          `${dir} is already initialised (node.key or keystore.json exists)`,
        );
      }
      const password = await readPassword(options.passwordFile, process.env);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const { peerId } = await createNodeKey(join(dir, "node.key"));
      const { address } = await createKeystore(join(dir, "keystore.json"), password);
      const config = data === undefined ? { dataDir: dir } : { dataDir: dir, data };
      await writeFile(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`, {
        flag: "wx",
      });
      await writeFile(join(dir, "CONFIG.txt"), CONFIG_NOTES, { flag: "wx" });
      const result = { dataDir: dir, peerId, address };
      process.stdout.write(
        options.json === true
          ? `${JSON.stringify(result)}\n`
          : `initialised ${dir}\n  peer ID  ${peerId}\n  address  ${address}\nBack up node.key and keystore.json (and the password) now.\n`,
      );
    });
}
