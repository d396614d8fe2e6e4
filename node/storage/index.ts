/** Local storage: content-addressed objects with quota, crash-safe checkpoints and JSON state. */
export { TEMP_SUFFIX, isTempFile, syncDirectory, writeFileAtomic } from "./atomic.ts";
export type { WriteFileAtomicOptions } from "./atomic.ts";
export {
  CheckpointStore,
  DEFAULT_CHECKPOINTS_KEPT,
  checkpointMetaSchema,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint-store.ts";
export type { Checkpoint, CheckpointMeta, CheckpointStoreOptions, LoadResult } from "./checkpoint-store.ts";
export { ContentStore, contentHash } from "./content-store.ts";
export type { ContentEntry, ContentStoreOptions, ContentStoreStats, PutOptions } from "./content-store.ts";
export { StorageCorruptError, StorageError, StorageNotFoundError, StorageQuotaError } from "./errors.ts";
export type { StorageErrorCode } from "./errors.ts";
export { JsonStateFile } from "./json-state.ts";
export type { JsonStateFileOptions } from "./json-state.ts";
