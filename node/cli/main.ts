import { Command } from "commander";

/** Builds the `vain-node` command tree. Commands only parse, validate and call into the node's libraries. */
export function buildProgram(): Command {
  const program = new Command("vain-node")
    .description("vAIn node: stake, join the training mesh, train, aggregate, prove and earn")
    .version("0.1.0")
    .showHelpAfterError();
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof Error && "exitCode" in error && typeof error.exitCode === "number") {
      return error.exitCode;
    }
    throw error;
  }
}
