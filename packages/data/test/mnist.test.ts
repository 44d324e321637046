import { Effect, Logger } from "effect"
import { copyFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadMnist, MNIST_FEATURES, mnistDataDir } from "../src/index.ts"
import { idxImagesBytes, idxLabelsBytes, runFailure, tempDir, writeTemp } from "./helpers.ts"

describe("loadMnist", () => {
  it("loads the real train split: 60000 28x28 images, first label 5", async () => {
    const train = await Effect.runPromise(loadMnist("train"))
    expect(train.count).toBe(60000)
    expect(train.features).toBe(784)
    expect(train.images.length).toBe(60000 * 784)
    expect(train.labels.length).toBe(60000)
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9])
    expect(train.labels.reduce((m, l) => Math.max(m, l), 0)).toBe(9)
  })

  it("loads the real test split: 10000 images, first label 7", async () => {
    const test = await Effect.runPromise(loadMnist("test"))
    expect(test.count).toBe(10000)
    expect(test.images.length).toBe(10000 * MNIST_FEATURES)
    expect(test.labels[0]).toBe(7)
  })

  it("keeps only the first `limit` samples", async () => {
    const small = await Effect.runPromise(loadMnist("test", { limit: 100 }))
    expect(small.count).toBe(100)
    expect(small.images.length).toBe(100 * 784)
    expect(small.labels.length).toBe(100)
    const error = await runFailure(loadMnist("test", { limit: -1 }))
    expect(error.reason).toContain("limit")
  })

  it("a limit over the count keeps all, with a warning that says so (and none at or under it)", async () => {
    const messages: Array<string> = []
    const capture = Logger.make(({ message, logLevel }) => {
      messages.push(`${logLevel}: ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    const all = await Effect.runPromise(loadMnist("test", { limit: 12000 }).pipe(Effect.provide(Logger.layer([capture]))))
    expect(all.count).toBe(10000)
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatch(/^Warn: limit 12000 is more than the 10000 images of .*t10k-images-idx3-ubyte: using all 10000$/)
    await Effect.runPromise(loadMnist("test", { limit: 10000 }).pipe(Effect.provide(Logger.layer([capture]))))
    expect(messages).toHaveLength(1)
  })

  it("fails when images and labels disagree on the count", async () => {
    const dir = await tempDir()
    await writeTemp(dir, "t10k-images-idx3-ubyte", idxImagesBytes(4, 28, 28))
    const labelsPath = await writeTemp(dir, "t10k-labels-idx1-ubyte", idxLabelsBytes(3))
    const error = await runFailure(loadMnist("test", { dir }))
    expect(error._tag).toBe("DataError")
    expect(error.file).toBe(labelsPath)
    expect(error.reason).toContain("3")
    expect(error.reason).toContain("4")
  })

  it("fails when the images are not 28x28", async () => {
    const dir = await tempDir()
    await writeTemp(dir, "t10k-images-idx3-ubyte", idxImagesBytes(2, 27, 28))
    await writeTemp(dir, "t10k-labels-idx1-ubyte", idxLabelsBytes(2))
    const error = await runFailure(loadMnist("test", { dir }))
    expect(error.reason).toContain("27x28")
  })

  it("fails with a DataError naming a missing file", async () => {
    const dir = await tempDir()
    const source = await Effect.runPromise(mnistDataDir)
    await copyFile(join(source, "t10k-images-idx3-ubyte"), join(dir, "t10k-images-idx3-ubyte"))
    const error = await runFailure(loadMnist("test", { dir }))
    expect(error.file).toBe(join(dir, "t10k-labels-idx1-ubyte"))
  })
})
