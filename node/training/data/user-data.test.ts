/**
 * The user's own data beyond IDX and CSV: class folders of PNG and JPEG images (decoded by pngjs and
 * jpeg-js) and a directory of text files; a file that fails is named in the error.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import jpeg from "jpeg-js";
import { PNG } from "pngjs";

import { DataValidationError } from "./dataset.ts";
import { loadDataDirectory } from "./files.ts";
import { partitionIndices } from "./partition.ts";

/** A side×side RGBA image, all pixels of grey level `level`. */
function flat(side: number, level: number): { width: number; height: number; data: Buffer } {
  const data = Buffer.alloc(side * side * 4, level);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width: side, height: side, data };
}

function png(side: number, level: number): Buffer {
  const image = new PNG({ width: side, height: side });
  flat(side, level).data.copy(image.data);
  return PNG.sync.write(image);
}

describe("user data directories", () => {
  it("loads class folders of PNG and JPEG images and names a broken file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-images-"));
    try {
      await mkdir(join(dir, "cats"));
      await mkdir(join(dir, "dogs"));
      await writeFile(join(dir, "cats", "a.png"), png(8, 255));
      await writeFile(join(dir, "cats", "b.jpg"), jpeg.encode(flat(8, 255), 95).data);
      await writeFile(join(dir, "dogs", "c.png"), png(8, 0));
      const data = await loadDataDirectory(dir);
      assert.equal(data.count, 3);
      assert.equal(data.featureSize, 64);
      assert.equal(data.classes, 2);
      assert.deepEqual([...data.labels], [0, 0, 1]);
      assert.ok(Math.abs(data.features[0]! - 1) < 1e-6);
      assert.ok(Math.abs(data.features[64]! - 1) < 0.05, "JPEG white stays near 1");
      assert.equal(data.features[128], 0);

      await writeFile(join(dir, "dogs", "broken.jpg"), Buffer.from("not a jpeg"));
      await assert.rejects(loadDataDirectory(dir), (error: unknown) => {
        assert.ok(error instanceof DataValidationError);
        assert.equal(error.file, join(dir, "dogs", "broken.jpg"));
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads a directory of text files as next-character rows, one group per file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-text-"));
    try {
      await writeFile(join(dir, "a.txt"), "The first paragraph.\n\nThe second one, a little longer.\n");
      await writeFile(join(dir, "b.txt"), "Another file with its own text in it.");
      const data = await loadDataDirectory(dir, { context: 8 });
      assert.equal(data.featureSize, 8);
      assert.equal(data.classes, 64);
      assert.deepEqual(new Set(data.groups), new Set([0, 1]));
      const parts = partitionIndices(data, 2, { kind: "group" });
      assert.equal(new Set(parts[0]!.map((r) => data.groups![r])).size, 1);

      await writeFile(join(dir, "c.txt"), Buffer.from([0x66, 0xff, 0xfe, 0x66]));
      await assert.rejects(loadDataDirectory(dir, { context: 8 }), (error: unknown) => {
        assert.ok(error instanceof DataValidationError);
        assert.equal(error.file, join(dir, "c.txt"));
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
