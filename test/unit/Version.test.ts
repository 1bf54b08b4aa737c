import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as Codex from "../../src/services/Codex.ts"
import { Version } from "../../src/index.ts"

describe("Version", () => {
  it("Version.version is the version in package.json", () => {
    const pkg = JSON.parse(NodeFs.readFileSync(NodePath.resolve(import.meta.dirname, "../..", "package.json"), "utf8"))
    assert.strictEqual(Version.version, pkg.version)
  })

  it.effect("the client reports it to codex as clientInfo.version by default", () =>
    Effect.gen(function*() {
      const metadata = yield* Codex.metadata
      assert.isTrue(metadata.userAgent.endsWith(`(effect_codex; ${Version.version})`), metadata.userAgent)
    }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([]))))
})
