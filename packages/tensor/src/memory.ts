/**
 * Arenas: how device memory follows program structure.
 *
 * Every storage a device hands out is owned by the innermost open arena. `tidy` (see
 * `device.ts`) opens an arena around an Effect; when the Effect ends, the storages
 * reachable from its result move to the enclosing arena and all others go back to the
 * backend's pool — one release per step, not one finaliser per tensor. The root arena
 * lives as long as the device (its Layer's scope).
 */
import type { Backend, Storage } from "./backend.ts"

/** The storages owned by one open arena. */
export class Arena {
  readonly storages = new Set<Storage>()
}

/** The arena stack of one device. */
export class Memory {
  private readonly stack: Array<Arena> = [new Arena()]

  constructor(private readonly backend: Backend) {}

  /** Records a new storage in the innermost arena. */
  track(storage: Storage): void {
    this.stack[this.stack.length - 1]!.storages.add(storage)
  }

  /** Opens an arena. */
  push(): Arena {
    const arena = new Arena()
    this.stack.push(arena)
    return arena
  }

  /**
   * Closes `arena`: storages in `keep` move to the enclosing arena, the rest are released.
   * Arenas opened inside it and still open are closed with it.
   */
  pop(arena: Arena, keep: ReadonlySet<Storage>): void {
    const index = this.stack.indexOf(arena)
    if (index <= 0) return
    const closing = this.stack.splice(index)
    const parent = this.stack[this.stack.length - 1]!
    for (const a of closing) {
      for (const s of a.storages) {
        if (keep.has(s)) parent.storages.add(s)
        else if (!s.released) this.backend.release(s)
      }
    }
  }

  /** Releases one storage now, wherever it is owned. */
  dispose(storage: Storage): void {
    if (storage.released) return
    for (const a of this.stack) a.storages.delete(storage)
    this.backend.release(storage)
  }

  /** Number of storages owned by open arenas. */
  get owned(): number {
    let n = 0
    for (const a of this.stack) n += a.storages.size
    return n
  }
}
