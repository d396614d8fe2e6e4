/** The commitment worker (commit-pool.ts): commits each encoded update it is sent, in order. */
import { parentPort } from "node:worker_threads";

import type { CommitRequest, CommitResponse } from "./commit-pool.ts";
import { commitEncodedHere } from "./commitment.ts";

parentPort?.on("message", (request: CommitRequest) => {
  void commitEncodedHere(request.encoded).then(
    (commitment) => parentPort?.postMessage({ id: request.id, commitment } satisfies CommitResponse),
    (error: unknown) =>
      parentPort?.postMessage({
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies CommitResponse),
  );
});
