/**
 * Pipelines, layouts and bind groups, each created once and cached.
 *
 * Every kernel uses the same binding scheme, so layouts are shared by all kernels with
 * the same number of inputs and outputs: binding 0 is the dispatch's uniform slot (a
 * 256-byte window of the uniform ring at a fixed offset), bindings 1..inputs are
 * read-only storage, the next `outputs` bindings are read-write storage, and the
 * `textures` bindings (rgba32float, see `textures.ts`) come last.
 *
 * The slot is bound at a static offset, not through a dynamic offset: on lavapipe a
 * dispatch whose bind group takes a dynamic offset cost about 100 µs against about 35 µs
 * with a static one (measured: 1,024 dispatches of a trivial kernel, Dawn 0.6.2, Mesa
 * 25.0). Bind groups are therefore keyed by layout, ring slot and buffer identities. A
 * training step is one submit that takes ring slots from 0 in the same order every
 * step, and pooled buffers recur step after step, so a training loop stops creating bind
 * groups after its first steps.
 */
import { ShaderStageCompute } from "./flags.ts"
import type { PooledBuffer } from "./pool.ts"
import type { PooledTexture } from "./textures.ts"
import { slotBytes } from "./uniforms.ts"

/** A compute kernel variant: its WGSL and its binding counts. */
export interface KernelSpec {
  /** Unique cache key of this kernel variant (e.g. `unary:exp`). */
  readonly key: string
  /** Read-only storage bindings (1..inputs). */
  readonly inputs: number
  /** Read-write storage bindings (after the inputs). */
  readonly outputs: number
  /** WGSL source with entry point `main`; binding 0 is `var<uniform>`. */
  readonly code: string
  /**
   * rgba32float texture bindings after the outputs, in order: "read" is a
   * `texture_2d<f32>` read with `textureLoad`, "write" a `texture_storage_2d<rgba32float, write>`.
   */
  readonly textures?: ReadonlyArray<TextureAccess>
}

/** How a kernel binds a texture (see `KernelSpec.textures`). */
export type TextureAccess = "read" | "write"

const texturesKey = (spec: KernelSpec): string => (spec.textures === undefined || spec.textures.length === 0 ? "" : `/${spec.textures.join("+")}`)

/** Bind groups cached before the cache is cleared (a guard against unbounded growth). */
const maxCachedBindGroups = 8192

/** Creates and caches pipelines, layouts and bind groups of one device. */
export class Pipelines {
  private readonly layouts = new Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>()
  private readonly pipelines = new Map<string, GPUComputePipeline>()
  private readonly groups = new Map<string, GPUBindGroup>()
  /** Pipelines created so far (for tests and benchmarks). */
  created = 0
  /** Bind groups created so far (cache misses). */
  groupsCreated = 0

  constructor(
    private readonly device: GPUDevice,
    private readonly uniforms: GPUBuffer
  ) {}

  private layout(spec: KernelSpec): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    const { inputs, outputs } = spec
    const key = `${inputs}/${outputs}${texturesKey(spec)}`
    let layout = this.layouts.get(key)
    if (layout === undefined) {
      const entries: Array<GPUBindGroupLayoutEntry> = [
        { binding: 0, visibility: ShaderStageCompute, buffer: { type: "uniform", minBindingSize: slotBytes } }
      ]
      for (let i = 0; i < inputs + outputs; i++) {
        entries.push({ binding: i + 1, visibility: ShaderStageCompute, buffer: { type: i < inputs ? "read-only-storage" : "storage" } })
      }
      for (const [i, access] of (spec.textures ?? []).entries()) {
        entries.push({
          binding: inputs + outputs + 1 + i,
          visibility: ShaderStageCompute,
          ...(access === "read"
            ? { texture: { sampleType: "unfilterable-float", viewDimension: "2d" } }
            : { storageTexture: { access: "write-only", format: "rgba32float", viewDimension: "2d" } })
        })
      }
      const group = this.device.createBindGroupLayout({ label: `layout ${key}`, entries })
      const pipeline = this.device.createPipelineLayout({ label: `layout ${key}`, bindGroupLayouts: [group] })
      layout = { group, pipeline }
      this.layouts.set(key, layout)
    }
    return layout
  }

  /** The compute pipeline of `spec`, compiled on first use. */
  pipeline(spec: KernelSpec): GPUComputePipeline {
    let pipeline = this.pipelines.get(spec.key)
    if (pipeline === undefined) {
      const module = this.device.createShaderModule({ label: spec.key, code: spec.code })
      pipeline = this.device.createComputePipeline({
        label: spec.key,
        layout: this.layout(spec).pipeline,
        compute: { module, entryPoint: "main" }
      })
      this.pipelines.set(spec.key, pipeline)
      this.created++
    }
    return pipeline
  }

  /**
   * The bind group of `spec`'s layout over the uniform slot at byte `offset` of the ring,
   * `buffers` (inputs then outputs) and `textures` (as `spec.textures` declares).
   */
  bindGroup(spec: KernelSpec, offset: number, buffers: ReadonlyArray<PooledBuffer>, textures: ReadonlyArray<PooledTexture> = []): GPUBindGroup {
    let key = `${spec.inputs}/${spec.outputs}${texturesKey(spec)}@${offset}`
    for (const b of buffers) key += `,${b.id}`
    for (const t of textures) key += `,t${t.id}`
    let group = this.groups.get(key)
    if (group === undefined) {
      if (this.groups.size >= maxCachedBindGroups) this.groups.clear()
      const entries: Array<GPUBindGroupEntry> = [{ binding: 0, resource: { buffer: this.uniforms, offset, size: slotBytes } }]
      for (let i = 0; i < buffers.length; i++) entries.push({ binding: i + 1, resource: { buffer: buffers[i]!.buffer } })
      for (let i = 0; i < textures.length; i++) entries.push({ binding: buffers.length + 1 + i, resource: textures[i]!.view })
      group = this.device.createBindGroup({ layout: this.layout(spec).group, entries })
      this.groupsCreated++
      this.groups.set(key, group)
    }
    return group
  }

  /** Number of cached bind groups. */
  get bindGroupCount(): number {
    return this.groups.size
  }

  /** Forgets every bind group (after buffers were destroyed). */
  clearBindGroups(): void {
    this.groups.clear()
  }
}
