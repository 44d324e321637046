import { Effect, Logger, Stream } from "effect"
import { describe, expect, it } from "vitest"
import {
  batchCount,
  type Dataset,
  epochSeed,
  lastBatchSize,
  singleSampleWarning,
  loader,
  type LoaderOptions,
  loadMnist,
  normalizationTable,
  permutation
} from "../src/index.ts"
import { runFailure } from "./helpers.ts"

/** A dataset whose sample i has every byte equal to i % 256 and label i % 10. */
const synthetic = (count: number, features: number): Dataset => ({
  count,
  features,
  images: Uint8Array.from({ length: count * features }, (_, k) => Math.floor(k / features) % 256),
  labels: Uint8Array.from({ length: count }, (_, i) => i % 10)
})

const options = (overrides: Partial<LoaderOptions> = {}): LoaderOptions => ({
  batchSize: 64,
  shuffle: true,
  seed: 42,
  epoch: 0,
  dropLast: false,
  ...overrides
})

const order = async (dataset: Dataset, opts: LoaderOptions): Promise<Array<number>> => {
  const batches = await Effect.runPromise(Stream.runCollect(loader(dataset, opts)))
  return batches.flatMap((b) => Array.from(b.indices))
}

describe("batchCount / lastBatchSize", () => {
  it("counts batches as PyTorch's DataLoader", () => {
    expect(batchCount(60000, 64, false)).toBe(938)
    expect(batchCount(60000, 64, true)).toBe(937)
    expect(lastBatchSize(60000, 64, false)).toBe(32)
    expect(lastBatchSize(60000, 64, true)).toBe(64)
    expect(batchCount(65, 64, false)).toBe(2)
    expect(lastBatchSize(65, 64, false)).toBe(1)
    expect(batchCount(10, 64, true)).toBe(0)
    expect(lastBatchSize(10, 64, true)).toBe(0)
    expect(lastBatchSize(128, 64, false)).toBe(64)
    expect(() => batchCount(10, 0, false)).toThrow(RangeError)
  })
})

describe("permutation", () => {
  it("is a deterministic permutation", () => {
    const p = permutation(1000, 7)
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(Array.from(permutation(1000, 7))).toEqual(Array.from(p))
    expect(Array.from(permutation(1000, 8))).not.toEqual(Array.from(p))
    expect(epochSeed(1, 0)).not.toBe(epochSeed(1, 1))
    expect(epochSeed(1, 0)).not.toBe(epochSeed(0, 1))
  })
})

describe("loader", () => {
  it("yields 938 batches for MNIST's 60000 at 64, the last of 32; 937 with dropLast", async () => {
    const train = await Effect.runPromise(loadMnist("train"))
    const stats = await Effect.runPromise(
      loader(train, options({ shuffle: false })).pipe(
        Stream.runFold(
          () => ({ batches: 0, samples: 0, last: -1, firstLabel: -1 }),
          (acc, b) => ({
            batches: acc.batches + 1,
            samples: acc.samples + b.size,
            last: b.size,
            firstLabel: acc.firstLabel === -1 ? b.y[0]! : acc.firstLabel
          })
        )
      )
    )
    expect(stats).toEqual({ batches: 938, samples: 60000, last: 32, firstLabel: 5 })
    const dropped = await Effect.runPromise(
      loader(train, options({ dropLast: true })).pipe(Stream.runFold(() => [0, 0], ([n, s], b) => [n + 1, s + b.size]))
    )
    expect(dropped).toEqual([937, 937 * 64])
  })

  it("normalises x and copies labels", async () => {
    const data = synthetic(10, 3)
    const [first] = await Effect.runPromise(Stream.runCollect(loader(data, options({ batchSize: 4 }))))
    const table = normalizationTable()
    expect(first!.x.length).toBe(12)
    expect(first!.y).toBeInstanceOf(Int32Array)
    for (let k = 0; k < first!.size; k++) {
      const i = first!.indices[k]!
      expect(first!.y[k]).toBe(i % 10)
      expect(Array.from(first!.x.subarray(k * 3, k * 3 + 3))).toEqual([table[i], table[i], table[i]])
    }
  })

  it("keeps the dataset order without shuffle", async () => {
    expect(await order(synthetic(10, 1), options({ shuffle: false, batchSize: 3 }))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9
    ])
  })

  it("is deterministic in (seed, epoch) and visits every index once", async () => {
    const data = synthetic(1000, 2)
    const a = await order(data, options({ batchSize: 32, seed: 3, epoch: 5 }))
    const b = await order(data, options({ batchSize: 32, seed: 3, epoch: 5 }))
    const c = await order(data, options({ batchSize: 32, seed: 3, epoch: 6 }))
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
    const identity = Array.from({ length: 1000 }, (_, i) => i)
    expect([...a].sort((x, y) => x - y)).toEqual(identity)
    expect([...c].sort((x, y) => x - y)).toEqual(identity)
    expect(a).not.toEqual(identity)
  })

  it("yields a one-sample last batch when dropLast is false, and says so in a warning", async () => {
    const messages: Array<string> = []
    const capture = Logger.make(({ message, logLevel }) => {
      messages.push(`${logLevel}: ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    const batches = await Effect.runPromise(
      Stream.runCollect(loader(synthetic(65, 1), options())).pipe(Effect.provide(Logger.layer([capture])))
    )
    expect(batches.map((b) => b.size)).toEqual([64, 1])
    expect(lastBatchSize(65, 64, false)).toBe(1)
    expect(messages).toEqual([`Warn: ${singleSampleWarning(65, 64)}`])
    const dropped = await Effect.runPromise(
      Stream.runCollect(loader(synthetic(65, 1), options({ dropLast: true }))).pipe(Effect.provide(Logger.layer([capture])))
    )
    expect(dropped.map((b) => b.size)).toEqual([64])
    expect(messages).toHaveLength(1)
    const silent = await Effect.runPromise(
      Stream.runCollect(loader(synthetic(65, 1), options({ warnSingleSample: false }))).pipe(Effect.provide(Logger.layer([capture])))
    )
    expect(silent.map((b) => b.size)).toEqual([64, 1])
    expect(messages).toHaveLength(1)
  })

  it("builds batches lazily", async () => {
    const data = synthetic(1000, 1)
    const taken = await Effect.runPromise(Stream.runCollect(loader(data, options({ batchSize: 10 })).pipe(Stream.take(2))))
    expect(taken.map((b) => b.index)).toEqual([0, 1])
  })

  it("fails with a DataError on bad options or an inconsistent dataset", async () => {
    const bad = await runFailure(Stream.runCollect(loader(synthetic(10, 1), options({ batchSize: 0 }))))
    expect(bad.file).toBe("loader")
    expect(bad.reason).toContain("batchSize")
    const short = await runFailure(
      Stream.runCollect(loader({ ...synthetic(10, 1), labels: new Uint8Array(5) }, options()))
    )
    expect(short.reason).toContain("labels")
  })
})
