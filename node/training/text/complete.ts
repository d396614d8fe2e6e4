/**
 * Completes a text prompt with a trained character transformer: the prompt (after a padding id, as every
 * text starts in training) fills the context window, and the most likely next character — or one sampled at
 * `temperature` — is appended until `chars` characters or the end-of-text (padding) id.
 */
import { Rng } from "../../core/rng.ts";
import type { LocalTrainer } from "../engine.ts";
import { PAD_ID, decodeIds, encodeText } from "./alphabet.ts";

export interface CompleteOptions {
  /** Characters to add at most. */
  readonly chars: number;
  /** 0 = greedy (most likely character); otherwise softmax sampling at this temperature. */
  readonly temperature?: number;
  readonly seed?: number;
}

/** The characters a model appends to `prompt`. */
export async function completePrompt(
  trainer: LocalTrainer,
  params: Float32Array,
  prompt: string,
  options: CompleteOptions,
): Promise<string> {
  const context = trainer.model.inputSize;
  const vocab = trainer.model.classes;
  const temperature = options.temperature ?? 0;
  const rng = new Rng(options.seed ?? 1);
  const ids = [PAD_ID, ...encodeText(prompt)];
  const added: number[] = [];
  for (let n = 0; n < options.chars; n++) {
    const window = new Float32Array(context); // left-padded with PAD_ID (0)
    const tail = ids.slice(-context);
    window.set(tail, context - tail.length);
    const logits = await trainer.logits(params, window, 1);
    let next = 0;
    if (temperature <= 0) {
      for (let c = 1; c < vocab; c++) if (logits[c]! > logits[next]!) next = c;
    } else {
      const max = Math.max(...logits);
      const weights = Array.from(logits, (l) => Math.exp((l - max) / temperature));
      let r = rng.next() * weights.reduce((a, b) => a + b, 0);
      next = weights.findIndex((w) => (r -= w) <= 0);
      if (next < 0) next = vocab - 1;
    }
    if (next === PAD_ID) break;
    ids.push(next);
    added.push(next);
  }
  return decodeIds(added);
}
