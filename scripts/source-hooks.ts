/**
 * Resolves `effect-codex` and its subpaths to the TypeScript sources, so examples
 * and scripts run unbuilt (`node --import ./scripts/source-hooks.ts examples/demo.ts`)
 * while the published `exports` point at `dist/` only.
 */
import { registerHooks } from "node:module"


const root = new URL("../", import.meta.url)
const entries: Record<string, string> = {
  "effect-codex": "src/index.ts",
  "effect-codex/schema": "src/schema/index.ts",
  "effect-codex/testing": "src/testing.ts",
  "effect-codex/ai": "src/ai.ts",
  "effect-codex/promise": "src/promise.ts",
  "effect-codex/workflow": "src/workflow.ts",
  "effect-codex/cluster": "src/cluster.ts"
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const entry = entries[specifier]
    return entry === undefined
      ? nextResolve(specifier, context)
      : { url: new URL(entry, root).href, shortCircuit: true }
  }
})

