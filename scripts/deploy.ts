/**
 * Deploys the vAIn protocol to a running chain and writes the deployment file.
 * Usage: node scripts/deploy.ts [--rpc <url>] [--out <file>] [--private-key <hex>] [--json]
 * Same as `npx vain-node deploy`.
 */
import { main } from "../node/cli/main.ts";

process.exitCode = await main([process.argv[0] ?? "node", "vain-node", "deploy", ...process.argv.slice(2)]);
