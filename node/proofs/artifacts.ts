/**
 * Loads the committed proving artifacts (circuits/artifacts; in the installed package, the copy it ships:
 * runtime/assets.ts) and checks their SHA-256 hashes against the manifest, so a stale zkey never silently
 * pairs with a changed circuit.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

import { circuitArtifactsDir, circuitSourceFiles } from "../runtime/assets.ts";

export const ARTIFACTS_DIR = circuitArtifactsDir();
/** The circuit's sources: the main file and the templates it includes (their hash pins the artifacts). */
const CIRCUIT_FILES = circuitSourceFiles();

/**
 * SHA-256 over the circuit's source files, in order (what the manifest records as `circuitSha256`);
 * undefined in the installed package, which ships the artifacts without the circuit.
 */
export async function circuitSourcesSha256(): Promise<string | undefined> {
  if (CIRCUIT_FILES.length === 0) return undefined;
  const hash = createHash("sha256");
  for (const file of CIRCUIT_FILES) hash.update(await readFile(file));
  return hash.digest("hex");
}

/** The artifacts are missing, altered, or older than the circuit. */
export class ArtifactIntegrityError extends Error {
  override readonly name = "ArtifactIntegrityError";
  readonly code = "ARTIFACT_INTEGRITY";
}

export interface ProofArtifacts {
  readonly wasm: Uint8Array;
  readonly zkey: Uint8Array;
  readonly verificationKey: unknown;
}

interface Manifest {
  readonly circuitSha256: string;
  readonly files: Record<string, string>;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let cached: Promise<ProofArtifacts> | undefined;

async function load(dir: string): Promise<ProofArtifacts> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(`${dir}manifest.json`, "utf8")) as Manifest;
  } catch (error) {
    throw new ArtifactIntegrityError(
      `cannot read ${dir}manifest.json (run \`npm run zk:setup\`): ${(error as Error).message}`,
    );
  }
  const sourcesSha256 = await circuitSourcesSha256();
  if (sourcesSha256 !== undefined && sourcesSha256 !== manifest.circuitSha256) {
    throw new ArtifactIntegrityError(
      "circuits/aggregate*.circom changed since the artifacts were built: run `npm run zk:setup`",
    );
  }
  const read = async (name: string) => {
    const bytes = new Uint8Array(await readFile(`${dir}${name}`));
    if (sha256(bytes) !== manifest.files[name])
      throw new ArtifactIntegrityError(`${name} does not match its manifest hash`);
    return bytes;
  };
  const [wasm, zkey, vkey] = await Promise.all([
    read("aggregate.wasm"),
    read("aggregate.zkey"),
    read("verification_key.json"),
  ]);
  return { wasm, zkey, verificationKey: JSON.parse(new TextDecoder().decode(vkey)) as unknown };
}

/** The verified artifacts (loaded once per process). */
export function loadProofArtifacts(dir: string = ARTIFACTS_DIR): Promise<ProofArtifacts> {
  if (dir !== ARTIFACTS_DIR) return load(dir);
  cached ??= load(dir);
  return cached;
}
