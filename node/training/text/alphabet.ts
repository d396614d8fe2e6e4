/**
 * The character vocabulary of the text tasks: 64 ids. Id 0 pads and separates texts (a document boundary,
 * like GPT's end-of-text), id 1 stands for any character outside the alphabet, then space, a–z, 0–9 and
 * common punctuation. Text is lower-cased first: WordNet glosses are almost all lower case, and 64 ids keep
 * the embedding and output layers small.
 */

/** Padding and text separator. */
export const PAD_ID = 0;
/** A character outside the alphabet. */
export const UNKNOWN_ID = 1;
const CHARS = " abcdefghijklmnopqrstuvwxyz0123456789.,;:'\"()-!?/&%$+=*#@[]_<>";
const FIRST_CHAR_ID = 2;

/** Size of the alphabet: the transformer's default vocabulary (TRANSFORMER_VOCAB, checked in transformer.test.ts). */
export const ALPHABET_SIZE = FIRST_CHAR_ID + CHARS.length;

const ID_OF = new Map([...CHARS].map((ch, i) => [ch, FIRST_CHAR_ID + i]));

/** Token ids of a text (lower-cased; characters outside the alphabet become `UNKNOWN_ID`). */
export function encodeText(text: string): Uint8Array {
  const lower = text.toLowerCase();
  const out = new Uint8Array(lower.length);
  for (let i = 0; i < lower.length; i++) out[i] = ID_OF.get(lower[i]!) ?? UNKNOWN_ID;
  return out;
}

/** The text of token ids (padding dropped, an unknown character shown as U+FFFD). */
export function decodeIds(ids: ArrayLike<number>): string {
  let out = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === PAD_ID) continue;
    out += id === UNKNOWN_ID ? "\uFFFD" : (CHARS[id - FIRST_CHAR_ID] ?? "\uFFFD");
  }
  return out;
}
