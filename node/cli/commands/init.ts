import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { Command } from "commander";

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

/** Registers `vain-node init`: creates the data dir, node key, encrypted keystore and a starter config. */
export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("create a data directory with a node key, an encrypted account keystore and a config file")
    .option("--data-dir <dir>", "data directory", ".vain")
    .option("--password-file <file>", "file whose first line is the keystore password (else VAIN_PASSWORD)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  VAIN_PASSWORD=... npx vain-node init\n  npx vain-node init --data-dir ./node1 --password-file ./pw --json\n",
    )
    .action(async (options: { dataDir: string; passwordFile?: string; json?: boolean }) => {
      const dir = resolve(options.dataDir);
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
      await writeFile(join(dir, "config.json"), `${JSON.stringify({ dataDir: dir }, null, 2)}\n`, {
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
