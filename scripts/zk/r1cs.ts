import { readFile } from "node:fs/promises";

/** Constraint count from an r1cs file's header section (what `snarkjs r1cs info` prints). */
export async function r1csConstraints(path: string): Promise<number> {
  const bytes = await readFile(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  for (;;) {
    const type = view.getUint32(offset, true);
    const size = Number(view.getBigUint64(offset + 4, true));
    if (type === 1) {
      const n8 = view.getUint32(offset + 12, true);
      return view.getUint32(offset + 12 + 4 + n8 + 24, true);
    }
    offset += 12 + size;
  }
}
