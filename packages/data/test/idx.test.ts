import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { DataError, parseIdxImages, parseIdxLabels, readIdxImages, readIdxLabels } from "../src/index.ts"
import { idxImagesBytes, idxLabelsBytes, runFailure, tempDir, writeTemp } from "./helpers.ts"

describe("IDX images", () => {
  it("parses a valid file without copying", async () => {
    const dir = await tempDir()
    const path = await writeTemp(dir, "images", idxImagesBytes(3, 2, 4))
    const images = await Effect.runPromise(readIdxImages(path))
    expect(images.count).toBe(3)
    expect(images.rows).toBe(2)
    expect(images.cols).toBe(4)
    expect(images.pixels.length).toBe(24)
    expect(Array.from(images.pixels.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    const bytes = idxImagesBytes(3, 2, 4)
    const parsed = await Effect.runPromise(parseIdxImages(bytes, "mem"))
    expect(parsed.pixels.buffer).toBe(bytes.buffer)
    expect(parsed.pixels.byteOffset).toBe(16)
  })

  it("rejects a truncated file, naming expected and actual lengths", async () => {
    const dir = await tempDir()
    const path = await writeTemp(dir, "short", idxImagesBytes(3, 2, 4).subarray(0, 30))
    const error = await runFailure(readIdxImages(path))
    expect(error).toBeInstanceOf(DataError)
    expect(error._tag).toBe("DataError")
    expect(error.file).toBe(path)
    expect(error.reason).toContain("40 bytes")
    expect(error.reason).toContain("30 bytes")
    expect(error.reason).toContain("truncated")
    expect(error.message).toBe(`${path}: ${error.reason}`)
  })

  it("rejects trailing bytes", async () => {
    const bytes = new Uint8Array(41)
    bytes.set(idxImagesBytes(3, 2, 4))
    const error = await runFailure(parseIdxImages(bytes, "long"))
    expect(error.reason).toContain("40 bytes")
    expect(error.reason).toContain("41 bytes")
  })

  it("rejects a short header", async () => {
    const error = await runFailure(parseIdxImages(new Uint8Array(10), "tiny"))
    expect(error.reason).toContain("16 bytes")
    expect(error.reason).toContain("10")
  })

  it("rejects a wrong magic number, naming it", async () => {
    const error = await runFailure(parseIdxImages(idxImagesBytes(1, 2, 2, 0x00000801), "labels-as-images"))
    expect(error.file).toBe("labels-as-images")
    expect(error.reason).toContain("0x00000801")
    expect(error.reason).toContain("0x00000803")
    expect(error.reason).toContain("labels file")
  })

  it("rejects zero rows or cols", async () => {
    const error = await runFailure(parseIdxImages(idxImagesBytes(5, 0, 28), "flat"))
    expect(error.reason).toContain("0x28")
  })

  it("reports a missing file as a DataError naming it", async () => {
    const dir = await tempDir()
    const error = await runFailure(readIdxImages(`${dir}/nope`))
    expect(error.file).toBe(`${dir}/nope`)
    expect(error.reason).toContain("ENOENT")
  })
})

describe("IDX labels", () => {
  it("parses a valid file", async () => {
    const dir = await tempDir()
    const path = await writeTemp(dir, "labels", idxLabelsBytes(12))
    const labels = await Effect.runPromise(readIdxLabels(path))
    expect(labels.count).toBe(12)
    expect(Array.from(labels.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
  })

  it("rejects a truncated file, naming expected and actual lengths", async () => {
    const error = await runFailure(parseIdxLabels(idxLabelsBytes(12).subarray(0, 15), "cut"))
    expect(error.reason).toContain("20 bytes")
    expect(error.reason).toContain("15 bytes")
  })

  it("rejects a wrong magic number", async () => {
    const error = await runFailure(parseIdxLabels(idxLabelsBytes(3, 0x00000803), "images-as-labels"))
    expect(error.reason).toContain("0x00000803")
    expect(error.reason).toContain("0x00000801")
  })
})
