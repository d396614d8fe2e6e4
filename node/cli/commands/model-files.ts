/**
 * The two files `vain-node model export` writes and `evaluate` / `predict` read: standard ONNX (default;
 * any ONNX runtime loads it, vAIn's spec and modelRef ride in its metadata) and the `.vain.json` file.
 * Either way the parameters are checked against the modelRef they name.
 */
import { readFile } from "node:fs/promises";

import type { Hex } from "viem";

import type { ExportedModel } from "../../protocol/model-file.ts";

export type ModelFormat = "onnx" | "vain";

/** Bytes of `model` in `format`. */
export async function encodeExport(model: ExportedModel, format: ModelFormat): Promise<Uint8Array | string> {
  const { serializeModel } = await import("../../protocol/model-file.ts");
  if (format === "vain") return serializeModel(model);
  const { exportOnnx, ONNX_METADATA } = await import("../../training/onnx-model.ts");
  const { createModel } = await import("../../training/architectures.ts");
  return exportOnnx(createModel(model.spec.model), model.params, {
    [ONNX_METADATA.spec]: JSON.stringify(model.spec),
    [ONNX_METADATA.modelRef]: model.modelRef,
    [ONNX_METADATA.taskId]: model.taskId.toString(),
  });
}

/** Reads either format (ONNX unless the file starts with `{`). */
export async function readExport(path: string): Promise<ExportedModel> {
  const { ModelFileError, readModelFile } = await import("../../protocol/model-file.ts");
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ModelFileError(`cannot read model file ${path}: ${(error as Error).message}`);
  }
  if (bytes[0] === "{".charCodeAt(0)) return readModelFile(path);
  const { ONNX_METADATA, OnnxModelError, paramsFromOnnx, readOnnxModel } =
    await import("../../training/onnx-model.ts");
  const { createModel } = await import("../../training/architectures.ts");
  const { taskSpecSchema } = await import("../../protocol/task-spec.ts");
  const { modelRef, paramsToBytes } = await import("../../protocol/models.ts");
  // Whatever the bytes are (a CSV, a truncated download, another tool's ONNX), the user sees one line naming the
  // file, never a stack trace.
  const notOurs: (why: string) => never = (why) => {
    throw new ModelFileError(`${path} is not a vAIn model file (neither .vain.json nor vAIn's ONNX): ${why}`);
  };
  let read: ReturnType<typeof readOnnxModel>;
  try {
    read = readOnnxModel(bytes);
  } catch (error) {
    if (error instanceof OnnxModelError) notOurs(error.message);
    throw error;
  }
  const { metadata, initializers } = read;
  const specText = metadata[ONNX_METADATA.spec];
  if (specText === undefined) {
    throw new ModelFileError(`${path} is an ONNX model without vAIn metadata (${ONNX_METADATA.spec})`);
  }
  let spec: ReturnType<typeof taskSpecSchema.parse>;
  try {
    spec = taskSpecSchema.parse(JSON.parse(specText));
  } catch (error) {
    notOurs(
      `its ${ONNX_METADATA.spec} metadata is not a task spec (${(error as Error).message.slice(0, 200)})`,
    );
  }
  let params: Float32Array;
  try {
    params = paramsFromOnnx(createModel(spec.model), initializers);
  } catch (error) {
    if (error instanceof OnnxModelError) notOurs(error.message);
    throw error;
  }
  const ref = metadata[ONNX_METADATA.modelRef];
  if (ref !== modelRef(paramsToBytes(params))) {
    throw new ModelFileError(`${path}: parameters do not match modelRef`);
  }
  return {
    taskId: BigInt(metadata[ONNX_METADATA.taskId] ?? "0"),
    modelRef: ref as Hex,
    spec: spec!,
    params: params!,
  };
}
