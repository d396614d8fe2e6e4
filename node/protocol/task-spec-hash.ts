/**
 * A task spec's content address (issue #22, "the task decides, on chain"): keccak256 of the parsed spec's
 * canonical JSON (defaults filled in, object keys sorted at every level), registered with the task on chain
 * (`TaskConfig.specHash`). Two nodes whose specs parse to the same values get the same hash whatever their
 * files' key order or omitted defaults; any value that differs (a learning rate, the server step, compression)
 * gives another hash, and a node whose hash is not the task's refuses the task (round/spec-check.ts).
 */
import { keccak256, stringToBytes } from "viem";
import type { Hex } from "viem";

import type { TaskSpec } from "./task-spec.ts";

/** The content address of a parsed task spec (`taskSpecSchema.parse` output). */
export function taskSpecHash(spec: TaskSpec): Hex {
  return keccak256(stringToBytes(canonicalJson(spec)));
}

/** JSON with object keys sorted at every level (members that are undefined dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === "object" && !Array.isArray(member)
      ? Object.fromEntries(
          Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : member,
  );
}
