/**
 * The file `vain-node model export` writes and `evaluate` / `predict` read: the task spec, the on-chain
 * modelRef, the parameters' content hash and the parameters (float32 little-endian, base64). Loading checks
 * the parameters against the content hash, so a file cannot silently carry a different model than it names.
 * A round's modelRef is derived on chain from its base and aggregate (round/next-model.ts), not a content
 * hash: the exporting node computed the parameters from them. Files without `sha256` (before derived refs)
 * are checked against the modelRef, which was then the content hash.
 */
import { readFile } from "node:fs/promises";

import type { Hex } from "viem";
import { z } from "zod";

import { createModel } from "../training/architectures.ts";
import { bytesToParams, modelRef, paramsToBytes } from "./models.ts";
import { taskSpecSchema } from "./task-spec.ts";
import type { TaskSpec } from "./task-spec.ts";

export const MODEL_FILE_FORMAT = "vain-model/1";

const modelFileSchema = z.object({
  format: z.literal(MODEL_FILE_FORMAT),
  taskId: z.string().regex(/^\d+$/),
  modelRef: z.string().regex(/^0x[0-9a-f]{64}$/),
  sha256: z
    .string()
    .regex(/^0x[0-9a-f]{64}$/)
    .optional(),
  spec: taskSpecSchema,
  params: z.string().regex(/^[A-Za-z0-9+/=]*$/),
});

export class ModelFileError extends Error {
  override readonly name = "ModelFileError";
  readonly shortMessage: string;
  constructor(message: string) {
    super(message);
    this.shortMessage = message;
  }
}

export interface ExportedModel {
  readonly taskId: bigint;
  readonly modelRef: Hex;
  readonly spec: TaskSpec;
  readonly params: Float32Array;
}

export function serializeModel(model: ExportedModel): string {
  return `${JSON.stringify({
    format: MODEL_FILE_FORMAT,
    taskId: model.taskId.toString(),
    modelRef: model.modelRef,
    sha256: modelRef(paramsToBytes(model.params)),
    spec: model.spec,
    params: Buffer.from(paramsToBytes(model.params)).toString("base64"),
  })}\n`;
}

export async function readModelFile(path: string): Promise<ExportedModel> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new ModelFileError(`cannot read model file ${path}: ${(error as Error).message}`);
  }
  const parsed = modelFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new ModelFileError(`${path} is not a vAIn model file: ${parsed.error.issues[0]?.message ?? "?"}`);
  const bytes = new Uint8Array(Buffer.from(parsed.data.params, "base64"));
  if (modelRef(bytes) !== (parsed.data.sha256 ?? parsed.data.modelRef))
    throw new ModelFileError(`${path}: parameters do not match their content hash`);
  const size = createModel(parsed.data.spec.model).layout.size;
  return {
    taskId: BigInt(parsed.data.taskId),
    modelRef: parsed.data.modelRef as Hex,
    spec: parsed.data.spec,
    params: bytesToParams(bytes, size),
  };
}
