/**
 * Turns texts into next-character rows for the transformer: the texts of one group (a WordNet topic, a
 * user's file) are joined into one stream with a padding id before each text (a document boundary, as LEAF
 * joins a Shakespeare role's lines), then cut into windows of `context` ids at a stride of `context`. A
 * row's features are the window, its label the id that follows; training predicts at every position, so
 * every character of the stream is a target exactly once.
 */
import type { Dataset } from "../data/dataset.ts";
import { ALPHABET_SIZE, PAD_ID, encodeText } from "./alphabet.ts";

/** Texts grouped for partitioning (topic, file); `group` is a small integer. */
export interface TextGroup {
  readonly group: number;
  readonly texts: readonly string[];
}

/** The stream of one group: PAD text PAD text … */
export function groupStream(texts: readonly string[]): Uint8Array {
  const encoded = texts.map(encodeText);
  const stream = new Uint8Array(encoded.reduce((n, e) => n + e.length + 1, 0));
  let at = 0;
  for (const e of encoded) {
    stream[at++] = PAD_ID;
    stream.set(e, at);
    at += e.length;
  }
  return stream;
}

/** Rows of every group's windows; `groups[row]` is the row's group (partition by topic). */
export function textWindows(groups: readonly TextGroup[], context: number): Dataset {
  const streams = groups.map((g) => groupStream(g.texts));
  const rowsOf = (s: Uint8Array) => Math.max(0, Math.floor((s.length - 1) / context));
  const count = streams.reduce((n, s) => n + rowsOf(s), 0);
  const features = new Float32Array(count * context);
  const labels = new Uint8Array(count);
  const rowGroups = new Uint16Array(count);
  let row = 0;
  streams.forEach((stream, gi) => {
    for (let w = 0; w < rowsOf(stream); w++, row++) {
      const start = w * context;
      for (let j = 0; j < context; j++) features[row * context + j] = stream[start + j]!;
      labels[row] = stream[start + context]!;
      rowGroups[row] = groups[gi]!.group;
    }
  });
  return { features, labels, count, featureSize: context, classes: ALPHABET_SIZE, groups: rowGroups };
}
