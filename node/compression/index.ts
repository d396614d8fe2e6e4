/** Update compression: top-k with error feedback and momentum correction, QSGD, and the wire formats. */
export { decodeSparseCodes, encodeSparseCodes, isSparseCodes } from "./aggregate-wire.ts";
export { UpdateDecodeError } from "./errors.ts";
export type { UpdateDecodeErrorCode } from "./errors.ts";
export { quantize } from "./qsgd.ts";
export { densify, levelCount, sparseValues } from "./sparse.ts";
export type { QuantizedValues, SparseUpdate } from "./sparse.ts";
export { decodeCompressorState, encodeCompressorState } from "./state-file.ts";
export { taskCompressor } from "./task-compressor.ts";
export type { TaskCompression } from "./task-compressor.ts";
export { TopKCompressor, topKIndices } from "./topk.ts";
export type { CompressorState, TopKOptions } from "./topk.ts";
export { DEFAULT_MAX_DIMENSION, WIRE_VERSION, decodeUpdate, encodeUpdate } from "./wire.ts";
