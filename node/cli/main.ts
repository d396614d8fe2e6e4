import { Command, CommanderError } from "commander";

import { StatusServerError } from "../api/errors.ts";
import { ChainError } from "../chain/errors.ts";
import { ConfigError } from "../config/errors.ts";
import { KeyError } from "../keys/keys.ts";
import { registerChainCommands } from "./commands/chain.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerDeployCommand } from "./commands/deploy.ts";
import { registerFundCommand } from "./commands/fund.ts";
import { registerInitCommand } from "./commands/init.ts";
import { registerModelCommands } from "./commands/model.ts";
import { registerStartCommand } from "./commands/start.ts";

/** Exit codes: 0 ok, 1 unexpected failure, 2 user error (bad input, chain down, stale deployment). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USER_ERROR = 2;

/** Builds the `vain-node` command tree. Commands only parse, validate and call into the node's libraries. */
export function buildProgram(): Command {
  const program = new Command("vain-node")
    .description("vAIn node: stake, join the training mesh, train, aggregate, prove and earn")
    .version("0.1.0")
    .showHelpAfterError()
    // Before the subcommands are added: commander copies this setting into each one at creation, so a
    // missing option in `task create` also throws (exit 2 below) instead of calling process.exit(1).
    .exitOverride();
  registerDeployCommand(program);
  registerDemoCommand(program);
  registerInitCommand(program);
  registerStartCommand(program);
  registerModelCommands(program);
  registerFundCommand(program);
  registerChainCommands(program);
  return program;
}

/** Errors a user can cause and fix: printed as one line, never with a stack trace. */
function userErrorMessage(error: unknown): string | undefined {
  if (error instanceof ChainError) return error.shortMessage;
  if (error instanceof ConfigError || error instanceof KeyError) return error.message;
  // The status server's own errors (port in use, no dashboard) are one-line operator errors too.
  if (error instanceof StatusServerError) return error.message;
  if (error instanceof Error && "shortMessage" in error && typeof error.shortMessage === "string") {
    return error.shortMessage;
  }
  return undefined;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USER_ERROR;
    const message = userErrorMessage(error);
    if (message !== undefined) {
      process.stderr.write(`vain-node: ${message}\n`);
      return EXIT_USER_ERROR;
    }
    process.stderr.write(
      `vain-node: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_FAILURE;
  }
}
