/**
 * Training worker thread: runs `LocalTrainer` (whose `session.run` blocks) off the main event loop.
 * Protocol: see `WorkerRequest` / `WorkerResponse` in pool.ts.
 */
import { parentPort } from "node:worker_threads";

import { LocalTrainer } from "./engine.ts";
import type { WorkerRequest, WorkerResponse } from "./pool.ts";

if (parentPort === null) throw new Error("worker.ts must run in a worker thread");
const port = parentPort;
const trainers = new Map<string, Promise<LocalTrainer>>();

function trainerFor(request: WorkerRequest): Promise<LocalTrainer> {
  const key = JSON.stringify([request.model, request.optimizer, request.proxMu]);
  let trainer = trainers.get(key);
  if (trainer === undefined) {
    trainer = LocalTrainer.create(request.model, request.optimizer, request.proxMu);
    trainers.set(key, trainer);
  }
  return trainer;
}

function reply(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on("message", (request: WorkerRequest) => {
  void (async () => {
    try {
      const trainer = await trainerFor(request);
      if (request.kind === "evaluate") {
        const metrics = await trainer.evaluate(request.params, request.data);
        reply({ id: request.id, kind: "evaluated", ...metrics, rssBytes: process.memoryUsage().rss });
        return;
      }
      const cancel = new Int32Array(request.cancel);
      let lastProgress = 0;
      const result = await trainer.train(request.params, request.data, {
        ...request.options,
        globalParams: request.globalParams,
        state: request.state,
        shouldStop: () => Atomics.load(cancel, 0) !== 0,
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastProgress < 100 && progress.step !== progress.totalSteps) return;
          lastProgress = now;
          reply({ id: request.id, kind: "progress", ...progress });
        },
      });
      reply({ id: request.id, kind: "trained", result, rssBytes: process.memoryUsage().rss }, [
        result.params.buffer as ArrayBuffer,
        ...(result.state?.tensors.map((t) => t.buffer as ArrayBuffer) ?? []),
      ]);
    } catch (error) {
      reply({
        id: request.id,
        kind: "error",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  })();
});
