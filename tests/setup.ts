import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// Dawn's Vulkan loader wants XDG_RUNTIME_DIR; CI machines may not set it.
if (process.env["XDG_RUNTIME_DIR"] === undefined || process.env["XDG_RUNTIME_DIR"] === "") {
  process.env["XDG_RUNTIME_DIR"] = mkdtempSync(join(tmpdir(), "effect-nn-xdg-"))
}
