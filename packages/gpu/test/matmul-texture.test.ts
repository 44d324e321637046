/**
 * The subgroup matmul with B packed into a texture: when it is chosen,
 * values against the CPU and bit for bit against the storage-buffer path, its epilogues,
 * two packs of one size in one batch, and the texture pool's memory accounting.
 */
import { CpuBackend, DeviceError, type MatmulSpec } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { subgroupLoadModes } from "../src/kernels/matmul.ts"
import { textureMinRows, textureMinWork, textureWanted } from "../src/kernels/matmul-texture.ts"
import { textureClass } from "../src/textures.ts"
import type { TexturePolicy, WebGpuBackend } from "../src/index.ts"
import { both, expectClose, makeGpu, uniform } from "./helpers.ts"

const cpu = new CpuBackend()
let gpu: WebGpuBackend

beforeAll(async () => {
  gpu = await makeGpu({ autotune: "off" })
  // Small shapes keep the tests fast; "auto" would read them from storage buffers.
  gpu.useMatmulTextures("on")
}, 30_000)
afterAll(() => gpu.destroy())

const spec = (m: number, k: number, n: number, transA = false, transB = false): MatmulSpec => ({ m, k, n, transA, transB })

describe("when B is read from a texture", () => {
  it("auto: from 256 rows and 2^26 multiply-adds, within the texture limit; never for row quads of a transposed A", () => {
    const want = (s: MatmulSpec, policy: TexturePolicy = "auto", max = 8192): boolean => textureWanted(s, policy, max)
    expect(textureMinRows).toBe(256)
    expect(textureMinWork).toBe(2 ** 26)
    expect(want(spec(1024, 1024, 1024))).toBe(true)
    expect(want(spec(1000, 784, 128, false, true))).toBe(true)
    expect(want(spec(512, 784, 128, false, true))).toBe(false)
    expect(want(spec(255, 4096, 4096))).toBe(false)
    expect(want(spec(256, 64, 40))).toBe(false)
    expect(want(spec(256, 64, 40), "on")).toBe(true)
    expect(want(spec(1024, 1024, 1024), "off")).toBe(false)
    // op(B) is ceil(n / 4) texels wide and k tall.
    expect(want(spec(256, 8193, 40), "on")).toBe(false)
    expect(want(spec(256, 64, 4 * 8192 + 1, false, true), "on")).toBe(false)
    expect(want(spec(256, 64, 4 * 8192), "on")).toBe(true)
    expect(subgroupLoadModes(spec(256, 64, 40), true)).toEqual({ a: "vecK", b: "texture", c: "scalar" })
    expect(subgroupLoadModes(spec(300, 7, 33, true, true), true)).toEqual({ a: "scalar", b: "texture", c: "scalar" })
    expect(subgroupLoadModes(spec(256, 64, 40, true), true)).toEqual({ a: "vecM", b: "vecN", c: "vec4" })
    expect(subgroupLoadModes(spec(256, 64, 40), false)).toEqual({ a: "vecK", b: "vecN", c: "vec4" })
  })
})

/** C on the GPU with textures on and off, and on the CPU; asserts the texture path ran (2 dispatches). */
const run = async (s: MatmulSpec, seed: number): Promise<{ tex: Float32Array; buf: Float32Array; cpu: Float32Array; scale: (i: number) => number }> => {
  const a = uniform(s.m * s.k, -1, 1, seed)
  const b = uniform(s.k * s.n, -1, 1, seed + 1)
  const [ga, ca] = both(gpu, cpu, a)
  const [gb, cb] = both(gpu, cpu, b)
  const out: Array<Float32Array> = []
  for (const on of [true, false]) {
    gpu.useMatmulTextures(on ? "on" : "off")
    const before = gpu.stats().dispatches
    const c = gpu.matmul(ga, gb, s)
    out.push((await gpu.read(c, "float32")) as Float32Array)
    expect(gpu.stats().dispatches - before).toBe(on && !(s.transA && s.m % 4 === 0 && s.k % 4 === 0) ? 2 : 1)
    gpu.release(c)
  }
  gpu.useMatmulTextures("on")
  const expected = (await cpu.read(cpu.matmul(ca, cb, s), "float32")) as Float32Array
  gpu.release(ga)
  gpu.release(gb)
  const scale = (i: number): number => {
    const row = Math.floor(i / s.n)
    const col = i % s.n
    let sum = 0
    for (let p = 0; p < s.k; p++) sum += Math.abs((s.transA ? a[p * s.m + row]! : a[row * s.k + p]!) * (s.transB ? b[col * s.k + p]! : b[p * s.n + col]!))
    return 1e-5 * sum
  }
  return { tex: out[0]!, buf: out[1]!, cpu: expected, scale }
}

describe("matmul with B in a texture", () => {
  const shapes: ReadonlyArray<readonly [number, number, number]> = [
    [256, 64, 40],
    // k % 4 ≠ 0 (scalar A and a tail loop), n % 4 ≠ 0 (a zero-padded last texel), m not a multiple of 32.
    [257, 7, 33],
    [300, 65, 130],
    // B transposed with k % 4 = 0 and n % 4 ≠ 0: packed 4 steps a thread, last texel zero-padded.
    [260, 12, 38],
    [256, 1, 1]
  ]
  for (const [m, k, n] of shapes) {
    it(`${m}x${k}x${n}, all transposes: close to the CPU, identical to the storage-buffer path`, async () => {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const r = await run(spec(m, k, n, transA, transB), m + k + n)
          expectClose(r.tex, r.cpu, 1e-4, r.scale)
          expect(Array.from(r.tex)).toEqual(Array.from(r.buf))
        }
      }
    })
  }

  it("keeps its epilogues: linear with bias and ReLU, row sums, ReLU's backward mask", async () => {
    const rows = 260
    const inF = 24
    const outF = 18
    const x = uniform(rows * inF, -1, 1, 1)
    const w = uniform(outF * inF, -1, 1, 2)
    const bias = uniform(outF, -1, 1, 3)
    const [gx, cx] = both(gpu, cpu, x)
    const [gw, cw] = both(gpu, cpu, w)
    const [gbias, cbias] = both(gpu, cpu, bias)
    const lin = { rows, inFeatures: inF, outFeatures: outF, relu: true }
    expectClose(await gpu.read(gpu.linear(gx, gw, gbias, lin), "float32"), await cpu.read(cpu.linear(cx, cw, cbias, lin), "float32"), 1e-5, 1e-5)
    const s = spec(rows, inF, outF, false, true)
    const [gc, gs] = gpu.matmulRowSums(gx, gw, s)
    const [cc, cs] = cpu.matmulRowSums(cx, cw, s)
    expectClose(await gpu.read(gc, "float32"), await cpu.read(cc, "float32"), 1e-5, 1e-5)
    expectClose(await gpu.read(gs, "float32"), await cpu.read(cs, "float32"), 1e-5, 1e-5)
    const mask = uniform(rows * outF, -1, 1, 4)
    const [gm, cm] = both(gpu, cpu, mask)
    const gy = gpu.reluBackward(gm, gpu.matmul(gx, gw, s), rows * outF)
    const cy = cpu.reluBackward(cm, cpu.matmul(cx, cw, s), rows * outF)
    expectClose(await gpu.read(gy, "float32"), await cpu.read(cy, "float32"), 1e-5, 1e-5)
  })

  it("two matmuls of one B size in one batch each read their own B (the pooled texture is reused in order)", async () => {
    const s = spec(256, 16, 12)
    const a = uniform(256 * 16, -1, 1, 5)
    const b1 = uniform(16 * 12, -1, 1, 6)
    const b2 = uniform(16 * 12, -1, 1, 7)
    const [ga, ca] = both(gpu, cpu, a)
    const [gb1, cb1] = both(gpu, cpu, b1)
    const [gb2, cb2] = both(gpu, cpu, b2)
    const c1 = gpu.matmul(ga, gb1, s)
    const c2 = gpu.matmul(ga, gb2, s)
    expectClose(await gpu.read(c1, "float32"), await cpu.read(cpu.matmul(ca, cb1, s), "float32"), 1e-5, 1e-5)
    expectClose(await gpu.read(c2, "float32"), await cpu.read(cpu.matmul(ca, cb2, s), "float32"), 1e-5, 1e-5)
  })

  it("keeps B packed from its second product on, per layout, until B is released", async () => {
    const m = 256
    const a = uniform(m * 24, -1, 1, 12)
    const b = uniform(24 * 20, -1, 1, 13)
    const [ga, ca] = both(gpu, cpu, a)
    const [gb, cb] = both(gpu, cpu, b)
    const kept0 = gpu.stats().packedTextures
    // The same storage read as [24, 20], as [20, 24] transposed, and as [40, 12]: three layouts.
    const specs = [spec(m, 24, 20), spec(m, 24, 20, false, true), spec(m, 40, 12)]
    const aFor = (s: MatmulSpec): [typeof ga, typeof ca] => (s.k === 24 ? [ga, ca] : both(gpu, cpu, uniform(m * s.k, -1, 1, 14)))
    const dispatches: Array<number> = []
    for (let round = 0; round < 3; round++) {
      for (const s of specs) {
        const [xa, xc] = aFor(s)
        const before = gpu.stats().dispatches
        const c = gpu.matmul(xa, gb, s)
        const got = await gpu.read(c, "float32")
        dispatches.push(gpu.stats().dispatches - before)
        expectClose(got, await cpu.read(cpu.matmul(xc, cb, s), "float32"), 1e-5, 1e-5)
        gpu.release(c)
        if (xa !== ga) gpu.release(xa)
      }
    }
    // Packed the first two times (pack + matmul), then the kept texture (matmul alone).
    expect(dispatches).toEqual([2, 2, 2, 2, 2, 2, 1, 1, 1])
    expect(gpu.stats().packedTextures - kept0).toBe(3)
    const pooled = gpu.stats().pooledBytes
    gpu.release(gb)
    expect(gpu.stats().packedTextures).toBe(kept0)
    expect(gpu.stats().pooledBytes).toBeGreaterThan(pooled)
    // B kept, then released before its (deferred) product is encoded: packed for that product alone.
    const [gb2, cb2] = both(gpu, cpu, b)
    const s = spec(m, 24, 20)
    for (let i = 0; i < 2; i++) await gpu.read(gpu.matmul(ga, gb2, s), "float32")
    expect(gpu.stats().packedTextures).toBe(kept0 + 1)
    const c = gpu.matmul(ga, gb2, s)
    gpu.release(gb2)
    expectClose(await gpu.read(c, "float32"), await cpu.read(cpu.matmul(ca, cb2, s), "float32"), 1e-5, 1e-5)
    expect(gpu.stats().packedTextures).toBe(kept0)
    gpu.release(ga)
  })

  it("a product whose packing encodes a deferred product of the same B first keeps one texture, and leaks none", async () => {
    const rows = 256
    const inF = 32
    const outF = 24
    const xs = uniform(rows * inF, -1, 1, 15)
    const ws = uniform(outF * inF, -1, 1, 16)
    gpu.trim()
    const base = gpu.stats()
    const [x, cx] = both(gpu, cpu, xs)
    const [w, cw] = both(gpu, cpu, ws)
    const relu = { rows, inFeatures: inF, outFeatures: outF, relu: true }
    const plain = { ...relu, relu: false }
    const y0 = gpu.linear(x, w, undefined, relu) // W packed once, not kept
    await gpu.read(y0, "float32")
    const y1 = gpu.linear(x, w, undefined, plain) // deferred
    const y2 = gpu.linear(x, w, undefined, relu) // encoded now: its packing pass encodes y1 first, which packs W too
    expectClose(await gpu.read(y1, "float32"), await cpu.read(cpu.linear(cx, cw, undefined, plain), "float32"), 1e-5, 1e-5)
    expectClose(await gpu.read(y2, "float32"), await cpu.read(cpu.linear(cx, cw, undefined, relu), "float32"), 1e-5, 1e-5)
    expect(gpu.stats().packedTextures - base.packedTextures).toBe(1)
    for (const s of [x, w, y0, y1, y2]) gpu.release(s)
    gpu.trim()
    expect(gpu.stats().packedTextures).toBe(base.packedTextures)
    expect(gpu.stats().liveBytes).toBe(base.liveBytes)
  })

  it("pools its textures: counted in live and pooled bytes, destroyed by trim", async () => {
    gpu.trim()
    const base = gpu.stats()
    const a = gpu.upload(uniform(256 * 32, -1, 1, 8))
    const b = gpu.upload(uniform(32 * 64, -1, 1, 9))
    for (let i = 0; i < 3; i++) {
      const c = gpu.matmul(a, b, spec(256, 32, 64))
      await gpu.read(c, "float32")
      gpu.release(c)
    }
    gpu.release(a)
    gpu.release(b)
    const after = gpu.stats()
    // One 16 × 32 texel texture (16 bytes a texel), reused by all three products.
    const textureBytes = 16 * 32 * 16
    expect(after.pooledBytes - base.pooledBytes).toBeGreaterThanOrEqual(textureBytes)
    expect(after.liveBytes - base.liveBytes).toBe(after.pooledBytes - base.pooledBytes)
    gpu.trim()
    expect(gpu.stats().liveBytes).toBe(base.liveBytes)
    expect(gpu.stats().pooledBytes).toBe(0)
  })

  it("k = 0 reads no texture (an empty op(B)): row sums and linear give zeros and the bias, the device stays usable", async () => {
    expect(textureWanted(spec(300, 0, 8), "on", 8192)).toBe(false)
    const x = gpu.alloc(0)
    const [c, sums] = gpu.matmulRowSums(x, x, spec(300, 0, 8))
    expect(Array.from(await gpu.read(c, "float32")).every((v) => v === 0)).toBe(true)
    expect(Array.from(await gpu.read(sums, "float32")).every((v) => v === 0)).toBe(true)
    const bias = gpu.upload(Float32Array.from([1, 2, 3]))
    const y = gpu.linear(x, x, bias, { rows: 300, inFeatures: 0, outFeatures: 3, relu: false })
    expect(Array.from(await gpu.read(y, "float32")).slice(0, 6)).toEqual([1, 2, 3, 1, 2, 3])
    const r = await run(spec(256, 8, 8), 11)
    expectClose(r.tex, r.cpu, 1e-4, r.scale)
  })

  it("texture sides are rounded up to classes (at most 25 % more), so nearby shapes share one texture", async () => {
    expect([1, 16, 17, 100, 128, 129, 196, 1000, 1015, 1024, 8190].map((t) => textureClass(t, 8192))).toEqual([1, 16, 20, 112, 128, 160, 224, 1024, 1024, 1024, 8192])
    expect(textureClass(8190, 8190)).toBe(8190)
    gpu.trim()
    const live: Array<number> = []
    for (let k = 1000; k < 1016; k += 3) {
      const a = gpu.upload(uniform(256 * k, -1, 1, k))
      const b = gpu.upload(uniform(k * 40, -1, 1, k + 1))
      const c = gpu.matmul(a, b, spec(256, k, 40))
      await gpu.read(c, "float32")
      for (const t of [a, b, c]) gpu.release(t)
      live.push(gpu.stats().liveBuffers)
    }
    // The storages share size classes too: after the first product nothing new is created,
    // the 10 × 1024-texel texture included.
    expect(live.every((n) => n === live[0])).toBe(true)
  })

  it("refuses an empty or oversized texture with a DeviceError", () => {
    expect(() => gpu.texture(0, 4)).toThrow(DeviceError)
    expect(() => gpu.texture(4, gpu.maxTextureDimension + 1)).toThrow(/exceeds maxTextureDimension2D/)
  })

  it("with pool: false, a released texture is destroyed", async () => {
    const unpooled = await makeGpu({ autotune: "off", pool: false })
    try {
      unpooled.useMatmulTextures("on")
      const before = unpooled.stats().liveBytes
      const a = unpooled.upload(uniform(256 * 8, -1, 1, 12))
      const b = unpooled.upload(uniform(8 * 8, -1, 1, 13))
      const c = unpooled.matmul(a, b, spec(256, 8, 8))
      await unpooled.read(c, "float32")
      // Only the read's staging buffer (256 × 8 floats) waits in a pool, not the texture.
      expect(unpooled.stats().pooledBytes).toBe(256 * 8 * 4)
      for (const t of [a, b, c]) unpooled.release(t)
      expect(unpooled.stats().pooledBytes).toBe(0)
      expect(unpooled.stats().liveBytes).toBe(before)
      // A kept texture of a live B is destroyed with the backend and no longer counted.
      const b2 = unpooled.upload(uniform(8 * 8, -1, 1, 13))
      const a2 = unpooled.upload(uniform(256 * 8, -1, 1, 12))
      for (let i = 0; i < 2; i++) await unpooled.read(unpooled.matmul(a2, b2, spec(256, 8, 8)), "float32")
      expect(unpooled.stats().packedTextures).toBe(1)
      unpooled.destroy()
      expect(unpooled.stats().packedTextures).toBe(0)
      expect(unpooled.stats().liveBytes).toBe(0)
    } finally {
      unpooled.destroy()
    }
  })

  it("keeps its fixed 2×2 workgroup shape whatever the tuned shape of the storage-buffer modes", async () => {
    const profiled = await makeGpu({ autotune: "off", profile: true })
    try {
      profiled.useMatmulConfig({ subgroupRows: 4, subgroupCols: 4 })
      const a = profiled.upload(uniform(1024 * 256, -1, 1, 14))
      const b = profiled.upload(uniform(256 * 256, -1, 1, 15))
      await profiled.read(profiled.matmul(a, b, spec(1024, 256, 256)), "float32")
      await profiled.read(profiled.matmul(a, b, spec(64, 256, 256)), "float32")
      const keys = (await profiled.profileReport()).map((t) => t.key).filter((k) => k.startsWith("matmul:subgroup"))
      expect(keys.sort()).toEqual(["matmul:subgroup:NN:vecK:texture:2x2", "matmul:subgroup:NN:vecK:vecN:c4:4x4"])
    } finally {
      profiled.destroy()
    }
  })
})
