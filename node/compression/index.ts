/** Update compression: top-k with error feedback and momentum correction, QSGD, and the wire format. */
export { UpdateDecodeError } from "./errors.ts";
export type { UpdateDecodeErrorCode } from "./errors.ts";
export { quantize } from "./qsgd.ts";
export { densify, levelCount, sparseValues } from "./sparse.ts";
export type { QuantizedValues, SparseUpdate } from "./sparse.ts";
export { TopKCompressor, topKIndices } from "./topk.ts";
export type { TopKOptions } from "./topk.ts";
export { DEFAULT_MAX_DIMENSION, WIRE_VERSION, decodeUpdate, encodeUpdate } from "./wire.ts";
