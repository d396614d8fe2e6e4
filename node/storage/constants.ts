/** Defaults of node/storage, each with the reason for its value. */

/** Mode of files written atomically: readable by others (models, round data are public), writable by the owner. */
export const DEFAULT_FILE_MODE = 0o644;
/** Mode of JSON state files: owner only, since state (reputation, round progress) is the node's own. */
export const STATE_FILE_MODE = 0o600;
