/** Local storage: atomic file writes and JSON state (a round's own store is node/protocol/round-store.ts). */
export { TEMP_SUFFIX, isTempFile, syncDirectory, writeFileAtomic } from "./atomic.ts";
export type { WriteFileAtomicOptions } from "./atomic.ts";
export { StorageError } from "./errors.ts";
export type { StorageErrorCode } from "./errors.ts";
export { JsonStateFile } from "./json-state.ts";
export type { JsonStateFileOptions } from "./json-state.ts";
