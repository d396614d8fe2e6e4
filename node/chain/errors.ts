/**
 * Chain-facing errors. Each has a stable `code` and a one-line `shortMessage` that says what is wrong and
 * how to fix it, so the CLI can print it without a stack trace.
 */
export type ChainErrorCode =
  | "CHAIN_UNREACHABLE"
  | "WRONG_CHAIN"
  | "DEPLOYMENT_MISSING"
  | "DEPLOYMENT_INVALID"
  | "DEPLOYMENT_STALE"
  | "INVALID_RPC_URL"
  | "INVALID_KEY"
  | "INVALID_AMOUNT"
  | "INVALID_ADDRESS"
  | "INVALID_PEER_ID"
  | "INVALID_ARGUMENT"
  | "SIGNER_MISSING"
  | "TX_REVERTED"
  | "TX_FAILED"
  | "INSUFFICIENT_GAS_FUNDS"
  | "NOTHING_TO_WITHDRAW"
  | "ALLOWANCE_LEFT"
  | "LOCAL_CHAIN_UNAVAILABLE"
  | "LOCAL_CHAIN_PORT_IN_USE";

/** Base class of every chain error. */
export class ChainError extends Error {
  override readonly name: string = "ChainError";
  readonly code: ChainErrorCode;
  readonly shortMessage: string;

  constructor(code: ChainErrorCode, shortMessage: string, options?: { cause?: unknown }) {
    super(shortMessage, options);
    this.code = code;
    this.shortMessage = shortMessage;
  }
}

/** No Hardhat to start a local chain with: the installed vain-node package (Hardhat is a repository tool). */
export class LocalChainUnavailableError extends ChainError {
  override readonly name = "LocalChainUnavailableError";
  constructor(binDir: string) {
    super(
      "LOCAL_CHAIN_UNAVAILABLE",
      `no Hardhat in ${binDir}: a local chain (the demo, tests) runs from the vAIn repository after \`npm install\`; an installed node joins a running chain (\`vain-node start --rpc <url>\`)`,
    );
  }
}

/** A local chain was to start on a port where something already answers (another demo or test run). */
export class LocalChainPortInUseError extends ChainError {
  override readonly name = "LocalChainPortInUseError";
  constructor(port: number) {
    super(
      "LOCAL_CHAIN_PORT_IN_USE",
      `port ${port} on 127.0.0.1 already answers JSON-RPC (another demo or test run?): stop it or choose another port`,
    );
  }
}

/** The RPC endpoint did not answer. */
export class ChainUnreachableError extends ChainError {
  override readonly name = "ChainUnreachableError";
  constructor(rpcUrl: string, cause?: unknown) {
    super(
      "CHAIN_UNREACHABLE",
      `cannot reach a chain at ${rpcUrl}: is it running? (start one with \`npx hardhat node\`, or pass --rpc <url>)`,
      { cause },
    );
  }
}

/** The RPC URL is not an http(s) or ws(s) URL. */
export class InvalidRpcUrlError extends ChainError {
  override readonly name = "InvalidRpcUrlError";
  constructor(rpcUrl: string) {
    super("INVALID_RPC_URL", `"${rpcUrl}" is not a valid RPC URL (expected e.g. http://127.0.0.1:8545)`);
  }
}

/** The chain answered with another chain ID than expected. */
export class WrongChainError extends ChainError {
  override readonly name = "WrongChainError";
  constructor(expected: number, actual: number, where: string) {
    super(
      "WRONG_CHAIN",
      `${where} is for chain ${expected} but the RPC serves chain ${actual}: point --rpc at the right chain or redeploy`,
    );
  }
}

/** No deployment file where one was expected. */
export class DeploymentMissingError extends ChainError {
  override readonly name = "DeploymentMissingError";
  constructor(path: string) {
    super(
      "DEPLOYMENT_MISSING",
      `no deployment file at ${path}: deploy with \`npx vain-node deploy --rpc <url>\` or pass --deployment <file>`,
    );
  }
}

/** The deployment file is not valid JSON of the expected shape. */
export class DeploymentInvalidError extends ChainError {
  override readonly name = "DeploymentInvalidError";
  constructor(path: string, detail: string) {
    super("DEPLOYMENT_INVALID", `deployment file ${path} is invalid: ${detail}`);
  }
}

/** The addresses in the deployment file hold no code, or other code, on this chain. */
export class DeploymentStaleError extends ChainError {
  override readonly name = "DeploymentStaleError";
  constructor(path: string, contract: string, address: string, detail: string) {
    super(
      "DEPLOYMENT_STALE",
      `deployment file ${path} is stale: ${contract} at ${address} ${detail} (the chain was probably restarted; redeploy with \`npx vain-node deploy --rpc <url>\`)`,
    );
  }
}

/** An amount given to a library function (not parsed from text) is zero or negative. */
export class NonPositiveAmountError extends ChainError {
  override readonly name = "NonPositiveAmountError";
  constructor(action: string) {
    super("INVALID_AMOUNT", `${action} failed: the amount must be greater than zero`);
  }
}

/** A task ID, round ID or similar argument is malformed. */
export class InvalidArgumentError extends ChainError {
  override readonly name = "InvalidArgumentError";
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}
